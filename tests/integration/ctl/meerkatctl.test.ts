import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyPlainPassword } from '../../../server/auth/credentials.ts';
import { loadConfig } from '../../../server/config/load.ts';
import { openStorage } from '../../../server/storage/open.ts';

const repo = join(import.meta.dir, '../../..');
const ctl = join(repo, 'bin/meerkatctl');
let dir: string;
let configFile: string;

interface Run { code: number; stdout: string; stderr: string }

async function meerkatctl(args: string[], stdin?: string, env: Record<string, string> = {}): Promise<Run> {
  const child = Bun.spawn([ctl, ...args], {
    cwd: dir,
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

async function storedCredentials(jid: string) {
  const [user, host] = jid.split('@') as [string, string];
  const config = await loadConfig(configFile, {}, { baseDir: dir });
  const storage = await openStorage(config.storage);
  try {
    return (await storage.users.get(host, user))?.credentials;
  } finally {
    await storage.close();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-ctl-'));
  configFile = join(dir, 'meerkat.toml');
  writeFileSync(configFile, [
    '[general]',
    'hosts = ["localhost", "chat.example"]',
    'data_dir = "./data"',
    '[auth.password]',
    'scram_iterations = 4096',
    '[[listen.c2s]]',
    'port = 1', // replaced per status test through MEERKAT_LISTEN__C2S__0__PORT
    'ip_address = "127.0.0.1"',
  ].join('\n'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('meerkatctl user', () => {
  test('add with the password as an argument, then from stdin', async () => {
    expect(await meerkatctl(['user', 'add', 'alice@localhost', 'alice-pass'])).toEqual({ code: 0, stdout: 'created alice@localhost\n', stderr: '' });
    expect(await meerkatctl(['user', 'add', 'bob@chat.example'], 'bob-pass\n')).toEqual({ code: 0, stdout: 'created bob@chat.example\n', stderr: '' });
    const bob = await storedCredentials('bob@chat.example');
    expect(Object.keys(bob!).sort()).toEqual(['SHA-1', 'SHA-256', 'SHA-512']);
    expect(bob!['SHA-256']!.iterations).toBe(4096);
    expect(await verifyPlainPassword(bob!, 'bob-pass')).toBe(true);
    expect(await verifyPlainPassword(bob!, 'bob-pass\n')).toBe(false);
  });

  test('the JID is normalized before it is stored', async () => {
    expect((await meerkatctl(['user', 'add', 'Carol@LocalHost', 'carol-pass'])).stdout).toBe('created carol@localhost\n');
    expect(await storedCredentials('carol@localhost')).toBeDefined();
  });

  test('add refuses an existing account, an unknown host, a bare host and an empty password', async () => {
    expect(await meerkatctl(['user', 'add', 'alice@localhost', 'other'])).toEqual({ code: 1, stdout: '', stderr: 'alice@localhost already exists\n' });
    const unknownHost = await meerkatctl(['user', 'add', 'eve@elsewhere.example', 'x']);
    expect(unknownHost).toEqual({ code: 1, stdout: '', stderr: 'elsewhere.example is not a configured host (general.hosts: localhost, chat.example)\n' });
    expect((await meerkatctl(['user', 'add', 'localhost', 'x'])).stderr).toBe('"localhost": expected user@host\n');
    expect((await meerkatctl(['user', 'add', 'dave@localhost'], '\n')).stderr).toBe('a non-empty password is required\n');
  });

  test('list every host or one', async () => {
    expect(await meerkatctl(['user', 'list'])).toEqual({
      code: 0, stdout: 'alice@localhost\ncarol@localhost\nbob@chat.example\n', stderr: '',
    });
    expect((await meerkatctl(['user', 'list', 'chat.example'])).stdout).toBe('bob@chat.example\n');
    expect((await meerkatctl(['user', 'list', 'nope.example'])).code).toBe(1);
  });

  test('passwd replaces the credentials', async () => {
    expect(await meerkatctl(['user', 'passwd', 'alice@localhost'], 'new-pass\n')).toEqual({ code: 0, stdout: 'password changed for alice@localhost\n', stderr: '' });
    const alice = await storedCredentials('alice@localhost');
    expect(await verifyPlainPassword(alice!, 'new-pass')).toBe(true);
    expect(await verifyPlainPassword(alice!, 'alice-pass')).toBe(false);
    expect(await meerkatctl(['user', 'passwd', 'zed@localhost', 'x'])).toEqual({ code: 1, stdout: '', stderr: 'zed@localhost does not exist\n' });
  });

  test('del removes the account once', async () => {
    expect(await meerkatctl(['user', 'del', 'carol@localhost'])).toEqual({ code: 0, stdout: 'deleted carol@localhost\n', stderr: '' });
    expect(await meerkatctl(['user', 'del', 'carol@localhost'])).toEqual({ code: 1, stdout: '', stderr: 'carol@localhost does not exist\n' });
    expect((await meerkatctl(['user', 'list', 'localhost'])).stdout).toBe('alice@localhost\n');
  });
});

describe('meerkatctl usage and configuration', () => {
  test('unknown commands and missing arguments are usage errors (2)', async () => {
    const unknown = await meerkatctl(['user', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toStartWith('meerkatctl: unknown command: user frobnicate\n');
    expect(unknown.stderr).toContain('user add <jid> [password]');
    const missing = await meerkatctl(['user', 'del']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toStartWith('meerkatctl: missing <jid> for user del\n');
    expect((await meerkatctl(['user', 'del', 'a@localhost', 'extra'])).code).toBe(2);
  });

  test('a configuration error is reported as such (3)', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[general]\nloglevel = "loud"\n');
    expect(await meerkatctl(['--config', bad, 'user', 'list'])).toEqual({
      code: 3,
      stdout: '',
      stderr: `meerkatctl: ${bad}: general.loglevel: expected one of "debug", "info", "warning", "error" or "none", got "loud"\n`,
    });
    const env = await meerkatctl(['user', 'list'], undefined, { MEERKAT_GENERAL__HOSTS: 'UPPER' });
    expect(env.code).toBe(3);
    expect(env.stderr).toBe('meerkatctl: MEERKAT_GENERAL__HOSTS: general.hosts[0]: expected a lower-case domain name, got "UPPER"\n');
  });

  test('MEERKAT_CONFIG names the file when --config is absent', async () => {
    const other = join(dir, 'other.toml');
    writeFileSync(other, '[general]\nhosts = ["other.example"]\ndata_dir = "./other-data"\n');
    expect((await meerkatctl(['user', 'add', 'x@other.example', 'pw'], undefined, { MEERKAT_CONFIG: other })).code).toBe(0);
    expect((await meerkatctl(['user', 'list'], undefined, { MEERKAT_CONFIG: other })).stdout).toBe('x@other.example\n');
  });
});

describe('meerkatctl status', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(() => {
    server.close();
  });

  test('0 when the c2s port accepts connections', async () => {
    const run = await meerkatctl(['status'], undefined, { MEERKAT_LISTEN__C2S__0__PORT: String(port) });
    expect(run).toEqual({ code: 0, stdout: `running (accepting connections on 127.0.0.1:${port})\n`, stderr: '' });
  });

  test('1 when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const run = await meerkatctl(['status'], undefined, { MEERKAT_LISTEN__C2S__0__PORT: String(freePort) });
    expect(run).toEqual({ code: 1, stdout: '', stderr: `not running (nothing accepts connections on 127.0.0.1:${freePort})\n` });
  });
});
