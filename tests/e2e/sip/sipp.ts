// Runs sipp (the sip-tester package) as the SIP peer of an end-to-end test: one scenario
// file from ./scenarios, one call (-m 1), a hard timeout so a stuck scenario always ends,
// loopback only. The process is ours: stop() kills exactly its pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const SCENARIOS = join(import.meta.dir, 'scenarios');

export const sippAvailable = spawnSync('sipp', ['-v'], { stdio: 'ignore' }).error === undefined;

export interface SippRun {
  /** Resolves with sipp's exit code (0: the call followed the scenario) and its output. */
  readonly done: Promise<{ code: number; output: string }>;
  stop(): void;
}

export interface SippOptions {
  scenario: string;
  /** sipp's own SIP port. */
  port: number;
  /** sipp binds a media (RTP echo) port too; a free one keeps runs from colliding. */
  mediaPort: number;
  /** For a UAC: where to send the INVITE, and the user part of its Request-URI. */
  remote?: { port: number; service: string };
  /** Default UDP; "tcp" is sipp's -t t1 (one connection). */
  transport?: 'udp' | 'tcp';
}

export function runSipp(options: SippOptions): SippRun {
  const args = [
    '-sf', join(SCENARIOS, options.scenario),
    '-i', '127.0.0.1', '-p', String(options.port), '-mi', '127.0.0.1', '-mp', String(options.mediaPort),
    '-m', '1', '-timeout', '30s', '-timeout_error', '-nostdin', '-nd',
  ];
  if (options.transport === 'tcp') args.push('-t', 't1');
  if (options.remote) args.push('-s', options.remote.service, `127.0.0.1:${options.remote.port}`);
  const child: ChildProcess = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  const done = new Promise<{ code: number; output: string }>((resolve) => {
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
  return {
    done,
    stop() {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    },
  };
}
