// Differential check (not run in CI): the same hostile byte streams to Meerkat, Debian's
// Prosody and ejabberd on loopback, printing the stream error each returned (or how the
// connection ended), so differences are visible. docs/security.md explains them.
//
//   ./node_modules/.bin/bun scripts/differential/run.ts [--wait-ms 3000]
//
// Prosody and ejabberd are installed with apt when missing (needs root), started as plain
// processes with their own config and data directory under a temporary directory, on free
// ports, and stopped at the end whatever happens.

import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CASES } from './cases.ts';
import { ensureInstalled, startEjabberd, startMeerkat, startProsody, type RunningPeer } from './servers.ts';

const waitArg = process.argv.indexOf('--wait-ms');
const WAIT_MS = waitArg >= 0 ? Number(process.argv[waitArg + 1]) : 3000;

/** Sends the bytes, then reads until the peer closes or WAIT_MS pass; describes the outcome. */
function probe(port: number, bytes: string | Uint8Array): Promise<string> {
  return new Promise((resolveOutcome) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (how: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const condition = /<stream:error[^>]*>\s*<([a-z-]+)/.exec(text)?.[1];
      resolveOutcome(condition ? `${condition}${how === 'closed' ? '' : ` (${how})`}` : how === 'closed' ? '(closed, no stream error)' : `(${how})`);
    };
    const timer = setTimeout(() => finish(`still open after ${WAIT_MS} ms`), WAIT_MS);
    socket.on('connect', () => { if (bytes.length > 0) socket.write(bytes); });
    socket.on('data', (d: Buffer) => { text += d.toString('utf8'); });
    socket.on('close', () => finish('closed'));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(e.code === 'ECONNRESET' ? 'reset' : `error ${e.code}`));
  });
}

async function main(): Promise<void> {
  ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-differential-'));
  const peers: RunningPeer[] = [];
  try {
    for (const start of [startMeerkat, startProsody, startEjabberd]) {
      try {
        peers.push(await start(dir));
      } catch (err) {
        process.stderr.write(`could not start: ${(err as Error).message}\n`);
      }
    }
    const rows: string[][] = [['case', ...peers.map((p) => p.name)]];
    for (const c of CASES) {
      const outcomes = await Promise.all(peers.map((p) => probe(p.port, c.bytes('localhost'))));
      rows.push([c.name, ...outcomes]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const row of rows) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ') + '\n');
  } finally {
    for (const p of peers) await p.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
