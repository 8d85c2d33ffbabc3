// Routing benchmark: N client pairs flood chat messages through a target over loopback.
//
//   bun bench/route/run.ts [--pairs 100[,1000]] [--duration 10] [--warmup 1] [--window 16]
//                          [--targets relay,meerkat,meerkat-serialize]
//                          [--quick] [--json FILE]
//
// Prints one row per (pairs, transport, target) with the target's throughput as a share of
// the plain relay's in the same run. Exits 1 if any run lost, duplicated or reordered a
// message.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchCertificate } from './certificate.ts';
import { runTarget, type RunResult } from './run-target.ts';
import { meerkat, meerkatSerialize } from './targets/meerkat.ts';
import { relay } from './targets/relay.ts';
import type { Target, Transport } from './targets/target.ts';
import { formatTable } from './report.ts';

const TARGETS: Target[] = [relay, meerkat, meerkatSerialize];

interface Args {
  pairs: number[];
  durationMs: number;
  warmupMs: number;
  window: number;
  targets: Target[];
  transports: Transport[];
  json: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);
  const num = (name: string, fallback: number): number => {
    const v = get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got ${v}`);
    return n;
  };
  const pairs = list(get('--pairs') ?? (quick ? '50' : '100')).map(Number);
  if (pairs.some((n) => !Number.isInteger(n) || n < 1 || n > 5000)) throw new Error('--pairs: integers from 1 to 5000');
  const targetNames = list(get('--targets') ?? (quick ? 'relay,meerkat' : TARGETS.map((t) => t.name).join(',')));
  const targets = targetNames.map((n) => {
    const t = TARGETS.find((x) => x.name === n);
    if (!t) throw new Error(`unknown target ${n} (known: ${TARGETS.map((x) => x.name).join(', ')})`);
    return t;
  });
  // Direct TLS only: Meerkat offers PLAIN only on encrypted streams.
  const transports: Transport[] = ['tls'];
  return {
    pairs,
    durationMs: num('--duration', quick ? 2 : 10) * 1000,
    warmupMs: num('--warmup', quick ? 0.5 : 1) * 1000,
    window: num('--window', 16),
    targets,
    transports,
    json: get('--json'),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const dir = await mkdtemp(join(tmpdir(), 'meerkat-bench-route-'));
  const results: RunResult[] = [];
  try {
    const cert = await writeBenchCertificate(dir);
    for (const pairs of args.pairs) {
      for (const transport of args.transports) {
        for (const target of args.targets) {
          const workDir = await mkdtemp(join(dir, `${target.name}-`));
          process.stderr.write(`${target.name}: ${pairs} pairs over ${transport}, ${args.durationMs / 1000} s ...\n`);
          const r = await runTarget(target, {
            pairs,
            transport,
            workDir,
            cert,
            durationMs: args.durationMs,
            warmupMs: args.warmupMs,
            window: args.window,
            loginConcurrency: 32,
            settleMs: 500,
          });
          results.push(r);
          for (const p of r.problems) process.stderr.write(`  problem: ${p}\n`);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(formatTable(results) + '\n');
  if (args.json) await writeFile(args.json, JSON.stringify({ date: new Date().toISOString(), bun: Bun.version, args: { ...args, targets: args.targets.map((t) => t.name) }, results }, null, 2));
  const failed = results.filter((r) => r.problems.length > 0 || r.sent !== r.received);
  if (failed.length > 0) {
    process.stderr.write(`FAILED: ${failed.map((r) => `${r.target}/${r.pairs}/${r.transport}`).join(', ')} (sent ≠ received or errors)\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
