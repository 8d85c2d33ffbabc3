// Load benchmark: the same scenarios against the plain TCP relay (ceiling), Meerkat and,
// when installed, Debian's ejabberd and Prosody — one server at a time, each pinned to
// CPU 0 while this generator runs on CPU 1 (--unpinned: neither is pinned).
//
//   bun bench/load/run.ts [--servers relay,meerkat,ejabberd,prosody] [--idle 10000]
//     [--chat-users 1000,10000] [--rates 1000,2000,...] [--step 3] [--p99 200]
//     [--scram 2000] [--scram-no-cache] [--bosh-users 200] [--bosh-rates 250,500,...]
//     [--parts logins,chat,bosh] [--unpinned] [--quick] [--json FILE]
//
// SCRAM clients keep SaltedPassword between logins (RFC 5802 §5.1) and learn it in a first
// SCRAM storm; --scram-no-cache: one storm, every client computes PBKDF2 at every login.
//
// Prints one Markdown table with Meerkat's ratio to each peer. Exits 1 when a run lost
// messages or failed.

import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchCertificate } from '../route/certificate.ts';
import { freePort } from '../route/ports.ts';
import { runScenarios, type ScenarioOptions, type ServerResult } from './scenarios.ts';
import { formatReport } from './report.ts';
import { ejabberd } from './servers/ejabberd.ts';
import { meerkat } from './servers/meerkat.ts';
import { prosody } from './servers/prosody.ts';
import { relay } from './servers/relay.ts';
import { NICE, commandOutput, type LoadServer } from './servers/server.ts';
import { readdirSync } from 'node:fs';

const SERVERS: LoadServer[] = [relay, meerkat, ejabberd, prosody];
const DEFAULT_RATES = [2000, 4000, 8000, 12000, 16000, 24000, 32000, 48000, 64000];
const DEFAULT_BOSH_RATES = [250, 500, 1000, 2000, 3000, 4000, 6000, 8000];

function parseArgs(argv: string[]) {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const nums = (name: string, fallback: number[]): number[] => {
    const v = get(name);
    if (v === undefined) return fallback;
    const out = v.split(',').map(Number);
    if (out.some((n) => !Number.isFinite(n) || n <= 0)) throw new Error(`${name}: positive numbers, comma-separated`);
    return out;
  };
  const num = (name: string, fallback: number): number => nums(name, [fallback])[0]!;
  const names = (get('--servers') ?? SERVERS.map((s) => s.name).join(',')).split(',');
  const servers = names.map((n) => {
    const s = SERVERS.find((x) => x.name === n);
    if (!s) throw new Error(`unknown server ${n}`);
    return s;
  });
  const parts = new Set((get('--parts') ?? 'logins,chat,bosh').split(',') as Array<'logins' | 'chat' | 'bosh'>);
  const chatUsers = nums('--chat-users', quick ? [200] : [1000, 10000]);
  const idle = num('--idle', quick ? 500 : 10000);
  if (parts.has('chat') && chatUsers.some((n) => n > idle)) throw new Error('--chat-users must not exceed --idle');
  return {
    servers,
    unpinned: argv.includes('--unpinned'),
    json: get('--json'),
    scenario: {
      idleSessions: idle,
      chatUsers,
      rates: nums('--rates', quick ? [1000, 4000] : DEFAULT_RATES),
      stepMs: num('--step', quick ? 1.5 : 3) * 1000,
      drainMs: 3000,
      p99LimitMs: num('--p99', 200),
      scramLogins: num('--scram', quick ? 200 : 2000),
      scramCache: !argv.includes('--scram-no-cache'),
      loginConcurrency: num('--concurrency', 64),
      boshUsers: num('--bosh-users', quick ? 50 : 200),
      boshRates: nums('--bosh-rates', quick ? [200, 400] : DEFAULT_BOSH_RATES),
      parts,
      settleMs: quick ? 1000 : 3000,
      log: (line: string) => process.stderr.write(line + '\n'),
    } satisfies ScenarioOptions,
  };
}

/** Raises this process's open-file limit as far as allowed; returns the soft limit in force. */
async function raiseFileLimit(want: number): Promise<number> {
  await commandOutput(['prlimit', '--pid', String(process.pid), `--nofile=${want}:${want}`]);
  const hard = Number(await commandOutput(['sh', '-c', 'ulimit -Hn']));
  await commandOutput(['prlimit', '--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  const line = await commandOutput(['prlimit', '--pid', String(process.pid), '--nofile', '--output', 'SOFT', '--noheadings']);
  return Number(line?.trim() ?? hard);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const limit = await raiseFileLimit(200_000);
  const need = args.scenario.idleSessions + 1000;
  process.stderr.write(`open files: ${limit} allowed (servers inherit it)${limit < need ? ` — below the ${need} needed for ${args.scenario.idleSessions} sessions` : ''}\n`);
  if (limit < need) throw new Error(`--idle ${args.scenario.idleSessions} needs ${need} open files; this machine allows ${limit} (hard limit; no CAP_SYS_RESOURCE?)`);
  if (!args.unpinned) await commandOutput(['taskset', '-a', '-p', '-c', '1', String(process.pid)]);
  // Same priority as the servers (servers/server.ts), for every thread of this process.
  await commandOutput(['renice', '-n', String(NICE), '-p', ...readdirSync('/proc/self/task')]);
  const dir = await mkdtemp(join(tmpdir(), 'meerkat-bench-load-'));
  await chmod(dir, 0o755);
  const results: ServerResult[] = [];
  const c2sPort = await freePort();
  const boshPort = await freePort();
  try {
    const cert = await writeBenchCertificate(dir);
    await chmod(cert.keyFile, 0o644); // servers that drop privileges must read it (throwaway key)
    for (const server of args.servers) {
      const version = await server.version();
      if (version === undefined) {
        process.stderr.write(`${server.name}: not installed, skipped\n`);
        continue;
      }
      process.stderr.write(`${server.name} (${version})${args.unpinned ? ', unpinned' : ', pinned to CPU 0'} ...\n`);
      const workDir = await mkdtemp(join(dir, `${server.name}-`));
      await chmod(workDir, 0o755);
      results.push(await runScenarios(server, version, { workDir, cert, c2sPort, boshPort, cpus: args.unpinned ? undefined : '0' }, args.scenario));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const machine = (await commandOutput(['sh', '-c', "lscpu | sed -n 's/^Model name: *//p'"])) ?? '?';
  process.stdout.write(formatReport(results, { ...args.scenario, pinned: !args.unpinned, machine, date: new Date().toISOString() }) + '\n');
  if (args.json) await writeFile(args.json, JSON.stringify({ date: new Date().toISOString(), machine, pinned: !args.unpinned, scenario: { ...args.scenario, parts: [...args.scenario.parts] }, results }, null, 2));
  const failed = results.filter((r) => r.errors.length > 0 || Object.values(r.chat).some((c) => c.problems.length > 0) || (r.bosh?.problems.length ?? 0) > 0);
  if (failed.length > 0) {
    process.stderr.write(`problems in: ${failed.map((r) => r.server).join(', ')}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
