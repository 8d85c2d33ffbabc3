// The start command from a clean directory: nothing copied, only environment overrides for
// the ports. The server generates its data directory and dev certificate, meerkatctl adds
// a user there, xmpp.js logs in trusting ./var/dev-cert.pem, and SIGTERM ends every stream
// with <system-shutdown/> and the process with exit code 0. A configuration error stops
// start-up with exit code 2 and a message naming the file and key.

import { afterAll, expect, test } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { client, xml, type Client } from '@xmpp/client';
import { freePorts } from '../../helpers/ports.ts';
import { trustCa } from '../../helpers/tls-trust.ts';

const REPO = resolve(import.meta.dir, '../../..');
const BUN = join(REPO, 'node_modules/.bin/bun');
const MAIN = join(REPO, 'server/main.ts');
const CTL = join(REPO, 'bin/meerkatctl');

const dirs: string[] = [];
const procs: ChildProcess[] = [];

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function cleanDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meerkat-start-'));
  dirs.push(dir);
  return dir;
}

/** Environment without inherited MEERKAT_* settings, plus the given overrides. */
function envWith(overrides: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MEERKAT_')) env[k] = v;
  return { ...env, ...overrides };
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string>): ChildProcess & { out: () => string; err: () => string; exited: Promise<number | null> } {
  const proc = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return Object.assign(proc, { out: () => out, err: () => err, exited });
}

async function waitForOutput(p: { out: () => string; err: () => string; exitCode: number | null }, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!p.out().includes(text)) {
    if (p.exitCode !== null) throw new Error(`exited with ${p.exitCode} before "${text}": ${p.out()} ${p.err()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}": ${p.out()} ${p.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('bun server/main.ts in an empty directory: user added with meerkatctl, xmpp.js pings, SIGTERM shuts down cleanly', async () => {
  const dir = await cleanDir();
  const [c2s, c2sTls, http, admin] = await freePorts(4);
  const env = envWith({
    MEERKAT_LISTEN__C2S__0__PORT: String(c2s),
    MEERKAT_LISTEN__C2S__1__PORT: String(c2sTls),
    MEERKAT_LISTEN__HTTP__0__PORT: String(http),
    MEERKAT_LISTEN__ADMIN__PORT: String(admin),
  });
  const server = run(BUN, [MAIN], dir, env);
  await waitForOutput(server, 'Meerkat is running');
  expect(server.out()).toContain(`127.0.0.1:${c2s}`);

  const ctl = run(CTL, ['user', 'add', 'alice@localhost', 'wonderland-42'], dir, env);
  expect(await ctl.exited).toBe(0);

  trustCa(await readFile(join(dir, 'var/dev-cert.pem'), 'utf8'));
  const xmpp: Client = client({ service: `xmpp://127.0.0.1:${c2s}`, domain: 'localhost', resource: 'start', username: 'alice', password: 'wonderland-42' });
  xmpp.reconnect.stop();
  const shutdown = new Promise<string | undefined>((r) => {
    xmpp.on('error', (e: Error & { condition?: string }) => r(e.condition));
  });
  await xmpp.start();
  expect(xmpp.jid?.toString()).toBe('alice@localhost/start');
  const pong = await xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  expect(pong.attrs.type).toBe('result');

  server.kill('SIGTERM');
  // xmpp.js reports the server's stream error as an error with its condition.
  expect(await shutdown).toBe('system-shutdown');
  expect(await server.exited).toBe(0);
  await xmpp.stop().catch(() => {});
}, 30_000);

test('an unknown key in meerkat.toml stops start-up with exit code 2, naming the file and the key', async () => {
  const dir = await cleanDir();
  await writeFile(join(dir, 'meerkat.toml'), '[general]\nhosts = ["localhost"]\nloglevle = "info"\n');
  const server = run(BUN, [MAIN], dir, envWith({}));
  expect(await server.exited).toBe(2);
  expect(server.err()).toMatch(/^meerkat\.toml: general\.loglevle: /m);
  expect(server.err()).toContain('unknown key');
  expect(server.out()).not.toContain('Meerkat is running');
}, 30_000);
