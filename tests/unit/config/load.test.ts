import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../server/config/error.ts';
import { loadConfig, parseConfig } from '../../../server/config/load.ts';
import { configSchema } from '../../../server/config/meerkat-schema.ts';
import type { Schema } from '../../../server/config/schema.ts';

const repo = join(import.meta.dir, '../../..');

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('no file: the embedded defaults', () => {
  test('localhost, SQLite under ./var, c2s on 5222 and 5223, HTTP on 5280', async () => {
    const config = await loadConfig(undefined, {}, { baseDir: '/srv/meerkat' });
    expect(config.file).toBeUndefined();
    expect(config.general.hosts).toEqual(['localhost']);
    expect(config.general.default_server_domain).toBe('localhost');
    expect(config.general.data_dir).toBe('/srv/meerkat/var');
    expect(config.storage.sqlite.path).toBe('/srv/meerkat/var/meerkat.sqlite3');
    expect(config.storage.sqlite.synchronous).toBe('normal');
    expect(config.listen.c2s.map((l) => [l.port, l.tls])).toEqual([[5222, 'starttls'], [5223, 'tls']]);
    expect(config.listen.c2s[0]!.certfile).toBeUndefined();
    expect(config.listen.http.map((l) => l.port)).toEqual([5280]);
    expect(Object.keys(config.listen.http[0]!.handlers)).toEqual(['bosh', 'websocket']);
    expect(config.listen.component).toEqual([]);
    expect(config.auth.password.scram_iterations).toBe(10000);
    expect(config.auth.sasl_mechanisms).not.toContain('EXTERNAL');
  });

  test('the result is frozen all the way down', async () => {
    const config = await loadConfig(undefined, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.listen.c2s[0])).toBe(true);
    expect(Object.isFrozen(config.general.hosts)).toBe(true);
    expect(() => { (config.general.hosts as string[]).push('x'); }).toThrow();
  });
});

describe('meerkat.example.toml', () => {
  const text = readFileSync(join(repo, 'meerkat.example.toml'), 'utf8');

  test('parses', () => {
    const config = parseConfig(text, 'meerkat.example.toml', {}, { baseDir: '/srv' });
    expect(config.listen.component[0]!.password).toBe('component-secret');
    expect(config.access.max_user_sessions![0]!.value).toBe(10);
    expect(config.outgoing_pools.redis.default!.port).toBe(6379);
    expect(config.modules.mod_ping!.path).toEqual(['modules', 'mod_ping']);
  });

  test('mentions every key of the schema', () => {
    const missing = allKeys(configSchema).filter((key) => !new RegExp(`\\b${key}\\b`).test(text));
    expect(missing).toEqual([]);
  });

  test('docs/configuration.md mentions every key too', () => {
    const docs = readFileSync(join(repo, 'docs/configuration.md'), 'utf8');
    // Keys count when written as code: inline `spans` and fenced blocks.
    const code = [...docs.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((m) => m[0]).join('\n');
    const missing = allKeys(configSchema).filter((key) => !new RegExp(`\\b${key}\\b`).test(code));
    expect(missing).toEqual([]);
  });
});

/** Key names reachable through fixed tables (records and raw sections have no fixed keys). */
function allKeys(schema: Schema<unknown, unknown>, seen = new Set<string>()): string[] {
  for (const key of schema.knownKeys() ?? []) {
    seen.add(key);
    let child = schema.child(key)!;
    // Arrays of tables and records of tables: look inside the item.
    while (!child.knownKeys() && child.child('0') && child.child('0') !== child) child = child.child('0')!;
    allKeys(child, seen);
  }
  return [...seen];
}

describe('files', () => {
  test('a missing file is an error naming it', async () => {
    await expect(loadConfig('/nonexistent/meerkat.toml', {})).rejects.toThrow('/nonexistent/meerkat.toml: file not found');
  });

  test('a file is read and named in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meerkat-config-'));
    const file = join(dir, 'meerkat.toml');
    writeFileSync(file, '[general]\nhosts = ["a.example"]\n');
    const config = await loadConfig(file, {});
    expect(config.file).toBe(file);
    expect(config.general.hosts).toEqual(['a.example']);
    writeFileSync(file, '[general]\nhosts = ["A.example"]\n');
    await expect(loadConfig(file, {})).rejects.toThrow(`${file}: general.hosts[0]: expected a lower-case domain name, got "A.example"`);
  });

  test('invalid TOML says where', () => {
    expect(errorOf(() => parseConfig('[general]\nhosts = [', 'meerkat.toml'))).toMatch(/^meerkat\.toml: invalid TOML at line 2, column \d+: /);
  });

  test('a [listen] table replaces the default listeners', () => {
    const config = parseConfig('[[listen.c2s]]\nport = 15222\n', 'meerkat.toml');
    expect(config.listen.c2s.map((l) => l.port)).toEqual([15222]);
    expect(config.listen.http).toEqual([]);
  });
});

describe('errors in the top-level layout', () => {
  const cases: Array<[string, string]> = [
    ['[[listen.c2s]]\nport = 5222\nprot = 1\n',
      'meerkat.toml: listen.c2s[0].prot: unknown key (expected one of: port, ip_address, tls, certfile, keyfile, cafile, verify_mode, verify_peer, max_stanza_size, shaper, access, backlog)'],
    ['[[listen.c2s]]\nport = 5222\n[[listen.c2s]]\nport = 5223\ntls = "ssl"\n',
      'meerkat.toml: listen.c2s[1].tls: expected one of "starttls", "starttls_required", "tls" or "none", got "ssl"'],
    ['[[listen.component]]\nport = 8888\n',
      'meerkat.toml: listen.component[0].password: expected a non-empty string, got nothing'],
    ['[[listen.http]]\n[listen.http.handlers.admin]\n',
      'meerkat.toml: listen.http[0].handlers.admin: unknown key (expected one of: bosh, websocket)'],
    ['[general]\nhosts = []\n', 'meerkat.toml: general.hosts: expected at least 1 item, got an empty array'],
    ['[general]\nloglevel = "loud"\n',
      'meerkat.toml: general.loglevel: expected one of "debug", "info", "warning", "error" or "none", got "loud"'],
    ['[general]\nhosts = ["a.example"]\ndefault_server_domain = "b.example"\n',
      'meerkat.toml: general.default_server_domain: expected one of general.hosts, got "b.example"'],
    ['[modules.ping]\n', 'meerkat.toml: modules.ping: invalid name (expected a module name such as mod_ping)'],
    ['[shaper.normal]\nmax_rate = 0\n', 'meerkat.toml: shaper.normal.max_rate: expected a positive integer, got 0'],
    ['[[listen.c2s]]\nshaper = "slow"\n',
      'meerkat.toml: listen.c2s[0].shaper: expected the name of a [shaper] entry (normal, fast), got "slow"'],
    ['[[listen.c2s]]\naccess = "nobody"\n',
      'meerkat.toml: listen.c2s[0].access: expected the name of an [access] rule (all, none, c2s, register), got "nobody"'],
    ['[[listen.component]]\npassword = "s"\naccess = "nobody"\n',
      'meerkat.toml: listen.component[0].access: expected the name of an [access] rule (all, none, c2s, register), got "nobody"'],
    ['[[listen.http]]\n[listen.http.handlers.websocket.component]\npassword = "s"\naccess = "nobody"\n',
      'meerkat.toml: listen.http[0].handlers.websocket.component.access: expected the name of an [access] rule (all, none, c2s, register), got "nobody"'],
    ['[[listen.c2s]]\ncertfile = "c.pem"\n',
      'meerkat.toml: listen.c2s[0].keyfile: expected a file system path (certfile is set), got nothing'],
    ['[[listen.c2s]]\nport = 5222\n[[listen.http]]\nport = 5222\nip_address = "127.0.0.1"\n',
      'meerkat.toml: listen.http[0].port: expected a port not used by listen.c2s[0], got 5222'],
    ['[access]\nc2s = [{ acl = "admins", value = "allow" }]\n',
      'meerkat.toml: access.c2s[0].acl: expected the name of an ACL (all, none, local), got "admins"'],
    ['[access]\nc2s = [{ acl = "all", value = 1.5 }]\n',
      'meerkat.toml: access.c2s[0].value: expected "allow", "deny", an integer or a name, got 1.5'],
    ['[acl]\nbad = [{ user_regexp = "((" }]\n',
      'meerkat.toml: acl.bad[0].user_regexp: expected a valid regular expression, got "(("'],
    ['[outgoing_pools.redis.default]\ncluster_nodes = ["10.0.0.1:7000"]\ndatabase = 2\n',
      'meerkat.toml: outgoing_pools.redis.default.database: expected 0 with cluster_nodes, got 2'],
    ['[auth.password]\nscram_iterations = 100\n',
      'meerkat.toml: auth.password.scram_iterations: expected an integer from 4096 to 10000000, got 100'],
    ['[storage.sqlite]\nbusy_timeout = "forever"\n',
      'meerkat.toml: storage.sqlite.busy_timeout: expected a positive duration such as "30s", "5m" or "500ms", got "forever"'],
    ['[[listen.http]]\nport = 5280\nidle_timeout = "5m"\n',
      'meerkat.toml: listen.http[0].idle_timeout: expected a positive duration of at most 255s, such as "30s", got "5m"'],
  ];
  for (const [toml, message] of cases) {
    test(message.slice(0, 90), () => {
      expect(errorOf(() => parseConfig(toml, 'meerkat.toml'))).toBe(message);
    });
  }
});

describe('environment overrides', () => {
  test('scalars and comma-separated lists, converted to the expected type', () => {
    const config = parseConfig('', '(defaults)', {
      MEERKAT_GENERAL__HOSTS: 'a.example,b.example',
      MEERKAT_GENERAL__LOGLEVEL: 'debug',
      MEERKAT_GENERAL__MAX_OUTBOUND_BYTES: '1048576',
      MEERKAT_STORAGE__SQLITE__SYNCHRONOUS: 'full',
      MEERKAT_LOG_LEVEL: 'debug', // not an override: no "__"
      PATH: '/usr/bin',
    });
    expect(config.general.hosts).toEqual(['a.example', 'b.example']);
    expect(config.general.default_server_domain).toBe('a.example');
    expect(config.general.loglevel).toBe('debug');
    expect(config.general.max_outbound_bytes).toBe(1048576);
    expect(config.storage.sqlite.synchronous).toBe('full');
  });

  test('override the file', () => {
    const config = parseConfig('[general]\nhosts = ["file.example"]\nloglevel = "error"\n', 'meerkat.toml', {
      MEERKAT_GENERAL__LOGLEVEL: 'warning',
    });
    expect(config.general.hosts).toEqual(['file.example']);
    expect(config.general.loglevel).toBe('warning');
  });

  test('a listener by index builds on the default listeners', () => {
    const config = parseConfig('', '(defaults)', { MEERKAT_LISTEN__C2S__1__PORT: '15223', MEERKAT_LISTEN__HTTP__0__TLS: 'true' });
    expect(config.listen.c2s.map((l) => l.port)).toEqual([5222, 15223]);
    expect(config.listen.http[0]!.tls).toBe(true);
  });

  test('inline TOML values, pools and module options', () => {
    const config = parseConfig('', '(defaults)', {
      MEERKAT_ACCESS__C2S: '[{ acl = "all", value = "deny" }]',
      MEERKAT_OUTGOING_POOLS__REDIS__DEFAULT__HOST: 'redis.internal',
      MEERKAT_MODULES__MOD_PING__PING_INTERVAL: '30',
    });
    expect(config.access.c2s).toEqual([{ acl: 'all', value: 'deny' }]);
    expect(config.outgoing_pools.redis.default!.host).toBe('redis.internal');
    expect(config.outgoing_pools.redis.default!.port).toBe(6379);
    expect(config.modules.mod_ping!.value).toEqual({ ping_interval: 30 });
  });

  test('access values become integers when they read as one', () => {
    const config = parseConfig('[access]\nmax_user_sessions = [{ acl = "all", value = 10 }]\n', 'meerkat.toml', {
      MEERKAT_ACCESS__MAX_USER_SESSIONS__0__VALUE: '20',
    });
    expect(config.access.max_user_sessions).toEqual([{ acl: 'all', value: 20 }]);
  });

  test('a bad value names the variable', () => {
    expect(errorOf(() => parseConfig('', '(defaults)', { MEERKAT_GENERAL__LOGLEVEL: 'loud' })))
      .toBe('MEERKAT_GENERAL__LOGLEVEL: general.loglevel: expected one of "debug", "info", "warning", "error" or "none", got "loud"');
    expect(errorOf(() => parseConfig('', '(defaults)', { MEERKAT_LISTEN__C2S__0__PORT: 'http' })))
      .toBe('MEERKAT_LISTEN__C2S__0__PORT: listen.c2s[0].port: expected an integer from 1 to 65535, got "http"');
    expect(errorOf(() => parseConfig('', '(defaults)', { MEERKAT_GENERAL__HOSTS: 'a.example,B' })))
      .toBe('MEERKAT_GENERAL__HOSTS: general.hosts[1]: expected a lower-case domain name, got "B"');
    expect(errorOf(() => parseConfig('', '(defaults)', { MEERKAT_ACCESS__C2S: '[{ acl = ' })))
      .toBe('MEERKAT_ACCESS__C2S: access.c2s: expected an inline TOML value, got "[{ acl = "');
  });

  test('an unknown key names the variable', () => {
    expect(errorOf(() => parseConfig('', '(defaults)', { MEERKAT_GENERAL__HOST: 'a.example' })))
      .toBe('MEERKAT_GENERAL__HOST: general.host: unknown key (expected one of: hosts, default_server_domain, loglevel, data_dir, max_outbound_bytes, language, workers)');
  });

  test('a check across keys names the variable that broke it', () => {
    expect(errorOf(() => parseConfig('[general]\nhosts = ["a.example"]\n', 'meerkat.toml', { MEERKAT_GENERAL__DEFAULT_SERVER_DOMAIN: 'b.example' })))
      .toBe('MEERKAT_GENERAL__DEFAULT_SERVER_DOMAIN: general.default_server_domain: expected one of general.hosts, got "b.example"');
  });
});
