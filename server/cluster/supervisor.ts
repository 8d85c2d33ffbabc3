// The main process of a node with [general] workers = N > 1: it prepares what must happen
// once (database migrations, the data directory), starts N worker processes running the full
// node (`server/main.ts --worker i`), restarts one that dies, and stops them all on SIGTERM.
//
// Worker 0 starts alone first, so the one-time files it creates on a fresh data directory
// (server secret, development certificate) exist before the others read them; then the rest
// start together. The supervisor prints the banner once every worker is ready.
//
// Child processes are started with node:child_process (Bun and Deno both provide it).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { openStorage } from '../storage/open.ts';
import type { Logger } from '../log.ts';

/** The line a worker prints once its listeners accept connections. */
export const WORKER_READY = 'Meerkat worker ready';

export interface SupervisorOptions {
  config: MeerkatConfig;
  /** The entry script and the arguments the supervisor was started with (--config …). */
  entry: string;
  args: string[];
  log: Logger;
  /** Extra runtime flags for the workers (e.g. --cpu-prof). */
  runtimeArgs?: string[];
}

interface WorkerSlot {
  index: number;
  child: ChildProcess | undefined;
  ready: boolean;
  startedAt: number;
  /** Consecutive quick deaths: the restart delay grows with them. */
  crashes: number;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface Supervisor {
  /** Worker pids, by index (undefined while one restarts). */
  pids(): (number | undefined)[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const STOP_GRACE_MS = 10_000;
const STABLE_AFTER_MS = 10_000;

export async function startSupervisor(o: SupervisorOptions): Promise<Supervisor> {
  const { config, log } = o;
  const count = config.general.workers;
  // Migrations run here, once; the workers find the schema current.
  await mkdir(resolve(config.general.data_dir), { recursive: true, mode: 0o700 });
  await (await openStorage(config.storage)).close();
  await mkdir(join(resolve(config.general.data_dir), 'workers'), { recursive: true, mode: 0o700 });

  const slots: WorkerSlot[] = Array.from({ length: count }, (_, index) => ({ index, child: undefined, ready: false, startedAt: 0, crashes: 0, restartTimer: undefined }));
  let stopping = false;
  const readyWaiters = new Map<number, () => void>();

  const start = (slot: WorkerSlot): void => {
    slot.ready = false;
    slot.startedAt = Date.now();
    const child = spawn(process.execPath, [...(o.runtimeArgs ?? []), o.entry, ...o.args, '--worker', String(slot.index)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    slot.child = child;
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        process.stdout.write(line + '\n');
        if (!slot.ready && line.startsWith(WORKER_READY)) {
          slot.ready = true;
          readyWaiters.get(slot.index)?.();
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (slot.child !== child) return;
      slot.child = undefined;
      slot.ready = false;
      if (stopping) return;
      const quick = Date.now() - slot.startedAt < STABLE_AFTER_MS;
      slot.crashes = quick ? slot.crashes + 1 : 0;
      const delay = Math.min(5000, 100 * 2 ** Math.min(slot.crashes, 6));
      log.warn('worker_exited', { worker: slot.index, code, signal, restart_in_ms: delay });
      slot.restartTimer = setTimeout(() => {
        slot.restartTimer = undefined;
        if (!stopping) start(slot);
      }, delay);
    });
    log.info('worker_started', { worker: slot.index, pid: child.pid });
  };

  const whenReady = (slot: WorkerSlot): Promise<void> => new Promise((resolveReady, reject) => {
    if (slot.ready) return resolveReady();
    readyWaiters.set(slot.index, () => {
      readyWaiters.delete(slot.index);
      resolveReady();
    });
    slot.child?.once('exit', (code) => {
      if (!slot.ready) reject(new Error(`worker ${slot.index} exited (code ${code}) before it was ready`));
    });
  });

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of slots) {
      if (slot.restartTimer !== undefined) clearTimeout(slot.restartTimer);
      const child = slot.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) continue;
      exits.push(new Promise<void>((done) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        child.once('exit', () => {
          clearTimeout(kill);
          done();
        });
      }));
      child.kill(signal);
    }
    await Promise.all(exits);
  };

  try {
    start(slots[0]);
    await whenReady(slots[0]);
    for (const slot of slots.slice(1)) start(slot);
    await Promise.all(slots.slice(1).map(whenReady));
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    pids: () => slots.map((s) => s.child?.pid),
    stop,
  };
}
