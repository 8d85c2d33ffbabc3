// meerkatctl start, stop and status.
//
// With [listen.admin] these use the node's health endpoint and the `node stop` command.
// Without it, status falls back to probing the first listener, and stop to the pid file
// that `meerkatctl start` wrote.

import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { getRuntime } from '../runtime/index.ts';
import { Unreachable, type AdminApiClient } from './api-client.ts';
import { EXIT, type Output } from './output.ts';

const PID_FILE = 'meerkat.pid';
const LOG_FILE = 'meerkat.out';
const WAIT_MS = 30_000;

type Health = 'ready' | 'starting' | 'draining' | 'down';

async function health(client: AdminApiClient): Promise<Health> {
  try {
    const reply = await client.request('GET', '/health/ready', undefined, 2000);
    const status = (reply.body as { status?: string }).status;
    return status === 'ready' || status === 'starting' || status === 'draining' ? status : 'down';
  } catch (err) {
    if (err instanceof Unreachable) return 'down';
    throw err;
  }
}

export async function nodeStatus(config: MeerkatConfig, client: AdminApiClient | undefined, out: Output): Promise<number> {
  if (client) {
    const state = await health(client);
    const value = { running: state !== 'down', state, admin: client.base };
    if (state === 'ready') return out.success(value, [`running (ready; admin API ${client.base})`]);
    return out.failure(value, [state === 'down' ? `not running (the admin API at ${client.base} does not answer)` : `running but ${state}`], EXIT.failed);
  }
  // No admin listener: "running" means the first listener accepts connections.
  const listener = config.listen.c2s[0] ?? config.listen.http[0] ?? config.listen.component[0];
  if (!listener) return out.failure({ running: false }, ['no listener configured to check'], EXIT.failed);
  const hostname = listener.ip_address === '0.0.0.0' ? '127.0.0.1' : listener.ip_address === '::' ? '::1' : listener.ip_address;
  const running = await probe(hostname, listener.port);
  return running
    ? out.success({ running: true }, [`running (accepting connections on ${hostname}:${listener.port})`])
    : out.failure({ running: false }, [`not running (nothing accepts connections on ${hostname}:${listener.port})`], EXIT.failed);
}

export async function nodeStart(config: MeerkatConfig, configPath: string | undefined, client: AdminApiClient | undefined, out: Output): Promise<number> {
  if (client && (await health(client)) !== 'down') return out.failure({ started: false }, ['already running'], EXIT.failed);
  const dataDir = config.general.data_dir;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const log = openSync(join(dataDir, LOG_FILE), 'a', 0o600);
  const main = resolve(import.meta.dir, '../main.ts');
  const args = [main, ...(configPath !== undefined ? ['--config', resolve(configPath)] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
  closeSync(log);
  const pid = child.pid;
  child.unref();
  if (pid === undefined) return out.failure({ started: false }, ['could not start the server'], EXIT.failed);
  await writeFile(join(dataDir, PID_FILE), `${pid}\n`, { mode: 0o600 });
  let exited: number | null = null;
  child.on('exit', (code) => { exited = code ?? 1; });
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) return out.failure({ started: false, pid }, [`the server exited during start-up (status ${exited}); see ${join(dataDir, LOG_FILE)}`], EXIT.failed);
    if (client ? (await health(client)) === 'ready' : await firstListenerUp(config)) {
      return out.success({ started: true, pid }, [`started (pid ${pid})`]);
    }
    await sleep(100);
  }
  return out.failure({ started: false, pid }, [`not ready after ${WAIT_MS / 1000}s; see ${join(dataDir, LOG_FILE)}`], EXIT.failed);
}

export async function nodeStop(config: MeerkatConfig, client: AdminApiClient | undefined, out: Output): Promise<number> {
  const pidFile = join(config.general.data_dir, PID_FILE);
  let asked = false;
  if (client) {
    try {
      const reply = await client.request('POST', '/api/admin/node/stop', { reason: 'meerkatctl stop' });
      asked = reply.status === 200;
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
    }
  }
  let pid: number | undefined;
  if (!asked) {
    pid = await readPid(pidFile);
    if (pid === undefined || !alive(pid)) return out.failure({ stopped: false }, ['not running'], EXIT.failed);
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const up = client ? (await health(client)) !== 'down' : pid !== undefined && alive(pid);
    if (!up) {
      await rm(pidFile, { force: true });
      return out.success({ stopped: true }, ['stopped']);
    }
    await sleep(100);
  }
  return out.failure({ stopped: false }, [`still running after ${WAIT_MS / 1000}s`], EXIT.failed);
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function firstListenerUp(config: MeerkatConfig): Promise<boolean> {
  const l = config.listen.c2s[0] ?? config.listen.http[0];
  return l !== undefined && probe(l.ip_address === '0.0.0.0' ? '127.0.0.1' : l.ip_address, l.port);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function probe(hostname: string, port: number): Promise<boolean> {
  const runtime = await getRuntime();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => { timer = setTimeout(() => r(false), 2000); });
  const attempt = runtime.connectTcp({ hostname, port }).then(
    (conn) => { conn.destroy(); return true; },
    () => false,
  );
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
