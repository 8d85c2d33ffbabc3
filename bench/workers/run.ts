// Throughput of one Meerkat node with 1 and with N workers ([general] workers), same load:
// bench/route's generator (N sender/receiver pairs, direct TLS, closed loop with `window`
// messages in flight per pair, every message checked) against the node started as a process.
//
//   bun bench/workers/run.ts [--workers 1,2] [--pairs 200] [--duration 10] [--warmup 1] [--window 16] [--json FILE]
//
// Server CPU is summed over the node's processes (the worker pids from the supervisor's
// banner; the one process when workers = 1). The generator is one process on the same
// machine: on 2 cores it competes with the workers for CPU.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../server/config/load.ts';
import { openStorage } from '../../server/storage/open.ts';
import { deriveCredentials } from '../../server/auth/credentials.ts';
import { writeBenchCertificate } from '../route/certificate.ts';
import { closeFleet, flood, loginFleet, type FloodResult } from '../route/load.ts';
import { PASSWORD, receiverName, senderName } from '../route/protocol.ts';
import { freePort } from '../route/ports.ts';
import { cpuMs } from '../route/process-stats.ts';
import { spawnUntilReady, stopChild } from '../route/targets/target.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const DOMAIN = 'localhost';

interface Args { workers: number[]; pairs: number; durationMs: number; warmupMs: number; window: number; json: string | undefined }

function parseArgs(argv: string[]): Args {
  const get = (n: string): string | undefined => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : undefined);
  const num = (n: string, d: number): number => {
    const v = Number(get(n) ?? d);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${n}: expected a positive number`);
    return v;
  };
  return {
    workers: (get('--workers') ?? '1,2').split(',').map(Number),
    pairs: num('--pairs', 200),
    durationMs: num('--duration', 10) * 1000,
    warmupMs: num('--warmup', 1) * 1000,
    window: num('--window', 16),
    json: get('--json'),
  };
}

interface Row extends FloodResult { workers: number; serverCpu: number }

async function runOnce(workers: number, a: Args, dir: string, cert: Awaited<ReturnType<typeof writeBenchCertificate>>): Promise<Row> {
  const work = await mkdtemp(join(dir, `w${workers}-`));
  const port = await freePort();
  const toml = `[general]
hosts = ["${DOMAIN}"]
data_dir = ${JSON.stringify(join(work, 'data'))}
loglevel = "warning"
workers = ${workers}

[[listen.c2s]]
port = ${port}
ip_address = "127.0.0.1"
tls = "tls"
certfile = ${JSON.stringify(cert.certFile)}
keyfile = ${JSON.stringify(cert.keyFile)}
backlog = 4096

[guard]
# every client comes from 127.0.0.1
max_connections_per_ip = 100000

[modules.mod_ping]
`;
  const path = join(work, 'meerkat.toml');
  await writeFile(path, toml);
  const storage = await openStorage(parseConfig(toml, path, {}, { baseDir: work }).storage);
  const credentials = await deriveCredentials(PASSWORD, { iterations: 4096, hashes: ['SHA-1'] });
  for (let i = 0; i < a.pairs; i++) {
    await storage.users.create(DOMAIN, senderName(i), credentials);
    await storage.users.create(DOMAIN, receiverName(i), credentials);
  }
  await storage.close();
  const child = await spawnUntilReady([join(ROOT, 'server/main.ts'), '--config', path], 'Meerkat is running', 60_000);
  try {
    const pids = workers === 1 ? [child.pid] : await workerPids(child.pid, workers);
    const fleet = await loginFleet({
      host: '127.0.0.1', port, tlsCa: cert.ca, serverName: DOMAIN, domain: DOMAIN, password: PASSWORD,
      pairs: a.pairs, loginConcurrency: 32, timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 1000)); // every session announced to every worker
    let before = 0;
    let after = 0;
    const total = (): number => pids.reduce((sum, p) => sum + cpuMs(p), 0);
    const result = await flood(fleet, {
      durationMs: a.durationMs, warmupMs: a.warmupMs, window: a.window, drainTimeoutMs: 10_000,
      onMeasureStart: () => { before = total(); },
      onMeasureEnd: () => { after = total(); },
    });
    await closeFleet(fleet);
    return { ...result, workers, serverCpu: (after - before) / result.measuredMs };
  } finally {
    await stopChild(child);
  }
}

/** The supervisor's children (its workers), from /proc. */
async function workerPids(supervisor: number, count: number): Promise<number[]> {
  const { readFileSync } = await import('node:fs');
  for (let i = 0; i < 100; i++) {
    const children = readFileSync(`/proc/${supervisor}/task/${supervisor}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    if (children.length >= count) return children;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the supervisor did not start its workers');
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'meerkat-bench-workers-'));
  const rows: Row[] = [];
  try {
    const cert = await writeBenchCertificate(dir);
    for (const w of a.workers) {
      process.stderr.write(`workers = ${w}: ${a.pairs} pairs, window ${a.window}, ${a.durationMs / 1000} s ...\n`);
      const row = await runOnce(w, a, dir, cert);
      for (const p of row.problems) process.stderr.write(`  problem: ${p}\n`);
      rows.push(row);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const base = rows[0]?.deliveredPerSec ?? 1;
  process.stdout.write('| workers | msgs/s | × 1 worker | p50 ms | p99 ms | server CPU (cores) | server µs/msg | client CPU | sent = received |\n|---:|---:|---:|---:|---:|---:|---:|---:|---|\n');
  for (const r of rows) {
    const usPerMsg = (r.serverCpu * 1e6) / r.deliveredPerSec;
    process.stdout.write(`| ${r.workers} | ${Math.round(r.deliveredPerSec)} | ${(r.deliveredPerSec / base).toFixed(2)} | ${r.latency.p50.toFixed(1)} | ${r.latency.p99.toFixed(1)} | ${r.serverCpu.toFixed(2)} | ${usPerMsg.toFixed(1)} | ${Math.round(r.clientCpu * 100)}% | ${r.sent === r.received && r.problems.length === 0 ? `yes (${r.received})` : `NO (${r.sent} sent, ${r.received} received)`} |\n`);
  }
  if (a.json) await writeFile(a.json, JSON.stringify({ date: new Date().toISOString(), args: a, rows }, null, 2));
  return rows.every((r) => r.sent === r.received && r.problems.length === 0) ? 0 : 1;
}

process.exitCode = await main();
