// meerkatctl (bin/meerkatctl, a separate process) against a node started with `meerkatctl
// start`: every kind of registry command goes through the admin API; status is a health check;
// stop ends the node; account commands fall back to storage while it is stopped.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../helpers/ports.ts';

const repo = join(import.meta.dir, '../../..');
const ctl = join(repo, 'bin/meerkatctl');
let dir: string;
let adminPort: number;

interface Run { code: number; stdout: string; stderr: string }

async function meerkatctl(args: string[], stdin?: string): Promise<Run> {
  const child = Bun.spawn([ctl, '--config', join(dir, 'meerkat.toml'), ...args], {
    cwd: dir,
    stdin: stdin === undefined ? 'ignore' : new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

const json = async (args: string[]) => {
  const run = await meerkatctl(['--json', ...args]);
  return { code: run.code, value: JSON.parse(run.stdout) };
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-ctl-admin-'));
  const [c2sPort, port] = await freePorts(2);
  adminPort = port!;
  writeFileSync(join(dir, 'meerkat.toml'), `
[general]
hosts = ["localhost"]
data_dir = "./data"
loglevel = "warning"
[auth.password]
scram_iterations = 4096
[[listen.c2s]]
port = ${c2sPort}
ip_address = "127.0.0.1"
tls = "none"
[listen.admin]
port = ${adminPort}
[modules.mod_roster]
[modules.mod_offline]
[services.service_admin_extra]
`);
});

afterAll(async () => {
  await meerkatctl(['stop']);
  rmSync(dir, { recursive: true, force: true });
});

// Every step runs meerkatctl as its own process (about 0.2–0.5 s each on a busy machine),
// so the tests get room beyond the default five seconds.
describe('meerkatctl and a running node', () => {
  test('check reports the configuration; status is 1 before start', async () => {
    const check = await meerkatctl(['check']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('is valid');
    expect(check.stdout).toContain(`listener: admin 127.0.0.1:${adminPort}`);
    expect(check.stdout).toContain('module: mod_roster (RFC 6121, XEP-0237)');
    const status = await meerkatctl(['status']);
    expect(status.code).toBe(1);
    expect(status.stderr).toStartWith('not running');
  }, 30_000);

  test('an account added while stopped works on storage directly', async () => {
    const run = await meerkatctl(['user', 'add', 'alice@localhost', 'alice-pw']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('created alice@localhost\n');
    expect(run.stderr).toContain('working on the storage directly');
  }, 30_000);

  test('start waits until ready; status is then 0', async () => {
    const start = await meerkatctl(['start']);
    expect(start.stdout).toStartWith('started (pid ');
    expect(start.code).toBe(0);
    expect(await meerkatctl(['status'])).toMatchObject({ code: 0, stdout: `running (ready; admin API http://127.0.0.1:${adminPort})\n` });
    expect((await json(['status'])).value).toEqual({ running: true, state: 'ready', admin: `http://127.0.0.1:${adminPort}` });
  }, 30_000);

  test('registry commands go through the admin API', async () => {
    expect(await meerkatctl(['account', 'register', 'bob@localhost'], 'bob-pw\n')).toEqual({ code: 0, stdout: 'created bob@localhost\n', stderr: '' });
    expect(await meerkatctl(['account', 'register', 'bob@localhost', 'x'])).toEqual({ code: 1, stdout: '', stderr: 'bob@localhost already exists\n' });
    expect((await meerkatctl(['account', 'list'])).stdout).toBe('alice@localhost\nbob@localhost\n');
    expect(await json(['account', 'count'])).toEqual({ code: 0, value: { ok: true, data: { count: 2 } } });
    expect((await meerkatctl(['account', 'check', 'carol@localhost'])).code).toBe(1);
    expect((await meerkatctl(['roster', 'subscribe', 'alice@localhost', 'bob@localhost'])).code).toBe(0);
    expect((await json(['roster', 'list', 'alice@localhost'])).value.data).toEqual([{ jid: 'bob@localhost', subscription: 'both', ask: false, groups: [] }]);
    expect((await meerkatctl(['roster', 'add', 'alice@localhost', 'dave@example.org', 'Dave', 'Friends,Work'])).code).toBe(0);
    expect((await json(['roster', 'list', 'alice@localhost'])).value.data[1]).toEqual({ jid: 'dave@example.org', name: 'Dave', subscription: 'none', ask: false, groups: ['Friends', 'Work'] });
    expect((await meerkatctl(['offline', 'count', 'bob@localhost'])).stdout).toBe('0\n');
    expect((await json(['session', 'count'])).value.data).toEqual({ count: 0, byTransport: {} });
    const stats = await json(['stats']);
    expect(stats.value.data).toMatchObject({ state: 'ready', registered: 2, online: 0 });
    expect((await meerkatctl(['log', 'set-level', 'info'])).stdout).toBe('log level info (was warning)\n');
    expect((await meerkatctl(['log', 'get-level'])).stdout).toBe('info\n');
    expect((await json(['module', 'list'])).value.data.running).toEqual({ localhost: ['mod_roster', 'mod_offline'] });
    expect((await json(['config', 'check'])).value.ok).toBe(true);
    const raw = await meerkatctl(['stanza', 'send-raw', '<message><body>x</message>']);
    expect(raw.code).toBe(1);
    expect(raw.stderr).toContain('not accepted by the XML tokenizer');
    const kick = await meerkatctl(['session', 'kick', 'alice@localhost/none']);
    expect(kick).toEqual({ code: 1, stdout: '', stderr: 'no session for alice@localhost/none\n' });
  }, 30_000);

  test('usage errors stay usage errors', async () => {
    expect((await meerkatctl(['roster', 'list'])).code).toBe(2);
    expect((await meerkatctl(['account', 'frobnicate'])).code).toBe(2);
  }, 30_000);

  test('stop ends the node; status is 1 again; session commands need the node', async () => {
    expect(await meerkatctl(['stop'])).toMatchObject({ code: 0, stdout: 'stopped\n' });
    expect((await meerkatctl(['status'])).code).toBe(1);
    const sessions = await meerkatctl(['session', 'list']);
    expect(sessions.code).toBe(1);
    expect(sessions.stderr).toContain('is the server running?');
    // Accounts still work, on storage.
    expect((await meerkatctl(['account', 'list'])).stdout).toBe('alice@localhost\nbob@localhost\n');
  }, 30_000);
});
