// BOSH and WebSocket message round trips per second against plain TCP, in one run, while
// a crowd of idle BOSH sessions each holds a request. Every round trip is checked (the
// pong carries the ping's number and comes from the right JID), and the idle sessions are
// checked to still be holding when the run ends.
//
//   bun bench/http/run.ts [--idle 1000] [--pairs 8] [--seconds 5] [--write]
//
// Loopback only; the idle crowd (≤ 5,000) and the run time (≤ 60 s per transport) are bounded.

import { readFileSync } from 'node:fs';
import { freePorts } from '../../tests/helpers/ports.ts';
import { BenchClient, roundTrips } from './client.ts';
import { writeResults } from './report.ts';
import type { Endpoint, Transport, TransportName } from './transport.ts';
import { BoshTransport } from './transports/bosh.ts';
import { TcpTransport } from './transports/tcp.ts';
import { WebSocketTransport } from './transports/websocket.ts';

export interface HttpBenchOptions {
  idle: number;
  pairs: number;
  seconds: number;
  /** Stop each pair after this many round trips (the smoke test), else run for `seconds`. */
  rounds?: number;
  warmupRounds: number;
}

export interface TransportResult {
  transport: TransportName;
  pairs: number;
  roundTrips: number;
  seconds: number;
  perSecond: number;
  meanRoundTripMs: number;
}

export interface HttpBenchResult {
  idleSessions: number;
  idleStillHolding: number;
  serverRssMiB: { before: number; withIdle: number; after: number };
  idleLoginSeconds: number;
  transports: TransportResult[];
}

const TRANSPORTS: TransportName[] = ['tcp', 'websocket', 'bosh'];

function makeTransport(name: TransportName, endpoint: Endpoint): Transport {
  if (name === 'tcp') return new TcpTransport(endpoint);
  if (name === 'websocket') return new WebSocketTransport(endpoint);
  return new BoshTransport(endpoint);
}

export async function runHttpBench(options: HttpBenchOptions): Promise<HttpBenchResult> {
  const idle = Math.min(Math.max(0, options.idle), 5_000);
  const seconds = Math.min(Math.max(0.1, options.seconds), 60);
  const accounts = idle + options.pairs * 2 * TRANSPORTS.length;
  const [c2sPort, httpPort] = await freePorts(2);
  const child = Bun.spawn([process.execPath, `${import.meta.dir}/server-main.ts`, String(accounts), String(c2sPort), String(httpPort)], {
    stdin: 'pipe', stdout: 'pipe', stderr: 'inherit',
  });
  try {
    await Promise.race([firstLine(child.stdout), child.exited.then((code) => Promise.reject(new Error(`bench server exited (${code}) before it was ready`)))]);
    const endpoint: Endpoint = { host: '127.0.0.1', c2sPort: c2sPort!, httpPort: httpPort! };
    const rssBefore = rssMiB(child.pid);

    // The idle crowd: logged-in BOSH sessions, each holding one request.
    const idleClients: BenchClient[] = [];
    const idleStart = performance.now();
    for (let i = 0; i < idle; i += 100) {
      const batch = Array.from({ length: Math.min(100, idle - i) }, (_, k) => new BenchClient(new BoshTransport(endpoint), `u${i + k}`, 'bench'));
      await Promise.all(batch.map((c) => c.login('idle')));
      idleClients.push(...batch);
    }
    const idleLoginSeconds = (performance.now() - idleStart) / 1000;
    await Bun.sleep(200);
    const rssWithIdle = rssMiB(child.pid);

    let next = idle;
    const transports: TransportResult[] = [];
    for (const name of TRANSPORTS) {
      const pairs: [BenchClient, BenchClient][] = [];
      for (let p = 0; p < options.pairs; p++) {
        const a = new BenchClient(makeTransport(name, endpoint), `u${next++}`, 'bench');
        const b = new BenchClient(makeTransport(name, endpoint), `u${next++}`, 'bench');
        await Promise.all([a.login('a'), b.login('b')]);
        pairs.push([a, b]);
      }
      await Promise.all(pairs.map(([a, b]) => roundTrips(a, b, options.warmupRounds, Infinity)));
      const start = performance.now();
      const deadline = Date.now() + seconds * 1000;
      const counts = await Promise.all(pairs.map(([a, b]) => roundTrips(a, b, options.rounds ?? Infinity, options.rounds === undefined ? deadline : Infinity)));
      const elapsed = (performance.now() - start) / 1000;
      const total = counts.reduce((s, n) => s + n, 0);
      transports.push({
        transport: name,
        pairs: pairs.length,
        roundTrips: total,
        seconds: elapsed,
        perSecond: total / elapsed,
        meanRoundTripMs: (elapsed * 1000 * pairs.length) / total,
      });
      await Promise.all(pairs.flat().map((c) => c.close()));
    }

    const idleStillHolding = idleClients.filter((c) => (c.transport as BoshTransport).holding).length;
    const rssAfter = rssMiB(child.pid);
    for (let i = 0; i < idleClients.length; i += 200) await Promise.all(idleClients.slice(i, i + 200).map((c) => c.close()));
    return {
      idleSessions: idleClients.length,
      idleStillHolding,
      serverRssMiB: { before: rssBefore, withIdle: rssWithIdle, after: rssAfter },
      idleLoginSeconds,
      transports,
    };
  } finally {
    child.stdin.end();
    await Promise.race([child.exited, Bun.sleep(5_000)]);
    child.kill();
  }
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  let text = '';
  while (!text.includes('\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error('bench server exited before it was ready');
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.split('\n')[0]!;
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

if (import.meta.main) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const result = await runHttpBench({ idle: arg('idle', 1000), pairs: arg('pairs', 8), seconds: arg('seconds', 5), warmupRounds: 50 });
  console.log(JSON.stringify(result, null, 2));
  if (process.argv.includes('--write')) await writeResults(result);
}
