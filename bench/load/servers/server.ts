// A server under load: started as a plain child process (pinned to a core when asked),
// its resident memory and CPU time read from /proc over its whole process tree (ejabberd
// runs as su → sh → beam.smp, so the tree is what counts).

import { readFileSync, readdirSync } from 'node:fs';
import type { Subprocess } from 'bun';

export interface StartOptions {
  /** Fresh directory for config and data (world-readable; servers may drop privileges). */
  workDir: string;
  cert: { certFile: string; keyFile: string; ca: string };
  c2sPort: number;
  boshPort: number;
  /** CPU list for taskset (e.g. "0"); undefined: unpinned. */
  cpus: string | undefined;
}

export interface Capabilities {
  scram: boolean;
  bosh: boolean;
  /** XEP-0077; without it every login name is accepted (the relay). */
  register: boolean;
}

export interface RunningServer {
  readonly pid: number;
  readonly boshPath: string;
  stop(): Promise<void>;
}

export interface LoadServer {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Undefined when the server is not installed here. */
  version(): Promise<string | undefined>;
  start(o: StartOptions): Promise<RunningServer>;
}

export const DOMAIN = 'localhost';

/**
 * The machine is shared: the server runs at nice -10 (as the generator does) so that
 * other work on its core takes less of it, and on the given core when pinned.
 */
export function pinned(cpus: string | undefined, argv: string[]): string[] {
  const niced = ['nice', '-n', String(NICE), ...argv];
  return cpus === undefined ? niced : ['taskset', '-c', cpus, ...niced];
}

export const NICE = -10;

/** Spawns argv; resolves once stdout/stderr contains `ready` or the port accepts connections. */
export async function spawnServer(argv: string[], ready: { text?: string; port?: number }, timeoutMs: number, env: Record<string, string> = {}, cwd?: string): Promise<Subprocess> {
  const child = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...env }, cwd });
  let output = '';
  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const text = decoder.decode(value, { stream: true });
      if (output.length < 200_000) output += text;
      if (process.env.LOAD_BENCH_VERBOSE) process.stderr.write(text);
    }
  };
  void pump(child.stdout);
  void pump(child.stderr);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (ready.text !== undefined && output.includes(ready.text)) break;
    if (ready.port !== undefined && (await accepts(ready.port))) break;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${argv.join(' ')} exited (${child.exitCode ?? child.signalCode}): ${output.slice(-3000)}`);
    if (Date.now() > deadline) {
      await killTree(child.pid, 0);
      throw new Error(`${argv.join(' ')} did not start in ${timeoutMs} ms: ${output.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

async function accepts(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {}, error() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** The process and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

function sumOverTree(root: number, read: (pid: number) => number): number {
  let total = 0;
  for (const pid of processTree(root)) {
    try {
      total += read(pid);
    } catch {
      // exited
    }
  }
  return total;
}

/** Resident memory of the tree, bytes. */
export function treeRss(root: number): number {
  return sumOverTree(root, (pid) => Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024);
}

/** User + system CPU time of the tree, ms (USER_HZ = 100). */
export function treeCpuMs(root: number): number {
  return sumOverTree(root, (pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  });
}

/**
 * Time the tree's threads spent runnable but waiting for a CPU, ms (/proc/<pid>/task/<tid>/
 * schedstat, second field): how much CPU other processes took from the server.
 */
export function treeRunDelayMs(root: number): number {
  return sumOverTree(root, (pid) => {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // thread gone
      }
    }
    return ns / 1e6;
  });
}

/** SIGTERM to the whole tree, SIGKILL to what is left after `graceMs`. */
export async function killTree(root: number, graceMs = 8000): Promise<void> {
  const pids = processTree(root);
  const alive = (): number[] => pids.filter((p) => {
    try {
      process.kill(p, 0);
      return !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  });
  for (const p of pids.reverse()) {
    try {
      process.kill(p, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const p of alive()) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export async function commandOutput(argv: string[]): Promise<string | undefined> {
  try {
    const p = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe' });
    const text = await new Response(p.stdout).text();
    return (await p.exited) === 0 ? text.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Fills {{NAME}} placeholders of a config template kept next to this file. */
export function fillTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/{{([A-Z0-9_]+)}}/g, (_, k: string) => {
    const v = values[k];
    if (v === undefined) throw new Error(`template: no value for ${k}`);
    return String(v);
  });
}
