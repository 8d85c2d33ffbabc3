// One measurement: start a target, read its RSS, log in every pair and read it again
// (memory per idle session), flood, check the counts, stop it.

import { loginFleet, flood, closeFleet, type FloodResult } from './load.ts';
import { cpuMs, rssBytes } from './process-stats.ts';
import type { Target, TargetOptions } from './targets/target.ts';

export interface RunOptions extends TargetOptions {
  durationMs: number;
  warmupMs: number;
  window: number;
  loginConcurrency: number;
  /** Quiet time before each RSS reading. */
  settleMs: number;
}

export interface RunResult extends FloodResult {
  target: string;
  pairs: number;
  transport: string;
  loginMs: number;
  rssIdleBytes: number;
  rssPerSessionBytes: number;
  /** Server CPU time during the measured window, as a share of one core. */
  serverCpu: number;
}

export async function runTarget(target: Target, o: RunOptions): Promise<RunResult> {
  const running = await target.start(o);
  try {
    await sleep(o.settleMs);
    const rssBefore = rssBytes(running.pid);
    const fleet = await loginFleet({
      host: '127.0.0.1',
      port: running.port,
      tlsCa: o.transport === 'tls' ? o.cert.ca : undefined,
      serverName: running.domain,
      domain: running.domain,
      password: running.password,
      pairs: o.pairs,
      loginConcurrency: o.loginConcurrency,
      timeoutMs: 30_000,
    });
    await sleep(o.settleMs);
    const rssAfter = rssBytes(running.pid);
    let cpuStart = 0;
    let cpuEnd = 0;
    const result = await flood(fleet, {
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      window: o.window,
      drainTimeoutMs: 10_000,
      onMeasureStart: () => { cpuStart = cpuMs(running.pid); },
      onMeasureEnd: () => { cpuEnd = cpuMs(running.pid); },
    });
    await closeFleet(fleet);
    return {
      ...result,
      target: target.name,
      pairs: o.pairs,
      transport: o.transport,
      loginMs: fleet.loginMs,
      rssIdleBytes: rssBefore,
      rssPerSessionBytes: (rssAfter - rssBefore) / (2 * o.pairs),
      serverCpu: (cpuEnd - cpuStart) / result.measuredMs,
    };
  } finally {
    await running.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
