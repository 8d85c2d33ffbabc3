// What the benchmark runs against. One adapter file per target (meerkat.ts, relay.ts);
// each starts its server as a child process so RSS and CPU time are the server's own.

import type { Subprocess } from 'bun';

export type Transport = 'tls' | 'plain';

export interface TargetOptions {
  pairs: number;
  transport: Transport;
  /** A fresh directory the target may use (config, data, certificates). */
  workDir: string;
  /** PEM files of the server certificate and its CA (for direct TLS). */
  cert: { certFile: string; keyFile: string; ca: string };
}

export interface RunningTarget {
  readonly pid: number;
  readonly port: number;
  readonly domain: string;
  readonly password: string;
  stop(): Promise<void>;
}

export interface Target {
  readonly name: string;
  readonly description: string;
  start(options: TargetOptions): Promise<RunningTarget>;
}

/**
 * Spawns `bun <args>` and resolves once its stdout contains `readyText`; rejects with its
 * output if it exits first or takes longer than the timeout.
 */
export async function spawnUntilReady(args: string[], readyText: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Subprocess<'ignore', 'pipe', 'pipe'>> {
  const child = Bun.spawn([process.execPath, ...args], {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, ...env },
  });
  let output = '';
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  const ready = (async (): Promise<boolean> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      output += decoder.decode(value, { stream: true });
      if (output.includes(readyText)) return true;
    }
  })();
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs));
  const outcome = await Promise.race([ready, timer]);
  if (outcome !== true) {
    child.kill('SIGKILL');
    const stderr = await new Response(child.stderr).text();
    throw new Error(`${args.join(' ')} did not start (${outcome === 'timeout' ? 'timeout' : 'exited'}): ${output}${stderr}`);
  }
  // Keep reading so a chatty child never blocks on a full pipe.
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream());
  void child.stderr.pipeTo(new WritableStream({ write: (chunk) => { process.stderr.write(chunk); } }));
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: Subprocess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const exited = await Promise.race([child.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
  if (!exited) {
    child.kill('SIGKILL');
    await child.exited;
  }
}
