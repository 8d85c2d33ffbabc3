// The results table (Markdown), with each target's throughput relative to the relay run
// with the same pairs and transport, and the server's CPU time per delivered message (the
// figure that stays comparable when other processes take CPU from the run).

import type { RunResult } from './run-target.ts';

export function formatTable(results: RunResult[]): string {
  const header = '| pairs | transport | target | msgs/s | × relay | p50 ms | p99 ms | RSS/idle session | server CPU | server µs/msg | client CPU | sent = received |';
  const rule = '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|';
  const rows = results.map((r) => {
    const base = results.find((x) => x.target === 'relay' && x.pairs === r.pairs && x.transport === r.transport);
    const ratio = base ? (r.deliveredPerSec / base.deliveredPerSec).toFixed(2) : '–';
    const ok = r.sent === r.received && r.problems.length === 0 ? `yes (${r.sent})` : `NO (${r.sent}/${r.received})`;
    return `| ${r.pairs} | ${r.transport} | ${r.target} | ${Math.round(r.deliveredPerSec)} | ${ratio} | ${r.latency.p50.toFixed(2)} | ${r.latency.p99.toFixed(2)} | ${kib(r.rssPerSessionBytes)} | ${pct(r.serverCpu)} | ${((r.serverCpu / r.deliveredPerSec) * 1e6).toFixed(1)} | ${pct(r.clientCpu)} | ${ok} |`;
  });
  return [header, rule, ...rows].join('\n');
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const pct = (share: number): string => `${Math.round(share * 100)}%`;
