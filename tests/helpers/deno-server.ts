// Meerkat started with `deno run` as a child process, for the tests that check the server
// under Deno: started from server/main.ts, ready when it prints its banner, stopped with
// SIGTERM (and asked to exit 0).

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const repo = join(import.meta.dir, '..', '..');
// The binary itself: the npm shim in .bin would run it as a child that a signal to the shim
// does not reach.
const deno = join(repo, 'node_modules', 'deno', 'deno');

/** Starts the server in `cwd` with `env`; resolves once it is running. */
export async function startDenoServer(cwd: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const server = spawn(deno, ['run', '-A', join(repo, 'server', 'main.ts')], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Deno server did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Meerkat is running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('exit', (code) => reject(new Error(`Deno server exited with ${code}: ${out}`)));
  });
  return server;
}

/** Graceful stop, waited for (a server left running would hold its ports); the exit code, or 'timeout' after a SIGKILL. */
export async function stopDenoServer(server: ChildProcess): Promise<number | null | 'timeout'> {
  if (server.exitCode !== null) return server.exitCode;
  const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
  server.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
  if (code === 'timeout') server.kill('SIGKILL');
  return code;
}
