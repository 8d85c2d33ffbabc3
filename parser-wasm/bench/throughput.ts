// Throughput on a stream of small chat stanzas fed in 1–4096-byte chunks, full validation
// on. Three handlers: "tokenize" reads nothing; "forward" reads what forwarding needs
// (local name, raw bytes); "route" also decodes type, to, from and id, as a router does.
// Run: bun parser-wasm/bench/throughput.ts [handler…]   (or deno run --allow-read …)

import { XmlStream, type StanzaView } from '../host/index.ts';
import { chatStream, chunkSizes } from './corpus.ts';

const { bytes, stanzas } = chatStream(32 * 1024 * 1024);
const sizes = chunkSizes(bytes.length);
let sink = 0;

const handlersByName: Record<string, (v: StanzaView) => void> = {
  // The tokenizer and dispatch alone: the view is handed out and not read.
  tokenize() {},
  forward(v) {
    sink += v.local.length + v.raw.length;
  },
  route(v) {
    sink += v.local.length + (v.attr('type')?.length ?? 0) + (v.attr('to')?.length ?? 0) +
      (v.attr('from')?.length ?? 0) + (v.attr('id')?.length ?? 0) + v.raw.length;
  },
};

function once(onStanza: (v: StanzaView) => void): number {
  let seen = 0;
  const stream = new XmlStream({
    onStreamOpen() {},
    onStanza(v) {
      seen++;
      onStanza(v);
    },
    onStreamClose() {},
    onError(e) {
      throw new Error(`unexpected ${e.condition} at ${e.offset}: ${e.message}`);
    },
  });
  const t0 = performance.now();
  let at = 0;
  for (const n of sizes) {
    stream.feed(bytes.subarray(at, at + n));
    at += n;
  }
  const ms = performance.now() - t0;
  stream.free();
  if (seen !== stanzas) throw new Error(`expected ${stanzas} stanzas, saw ${seen}`);
  return ms;
}

const MB = bytes.length / 1e6;
console.log(`${MB.toFixed(1)} MB, ${stanzas} stanzas (avg ${(bytes.length / stanzas).toFixed(0)} B), ${sizes.length} chunks of 1–4096 B`);
// Optional arguments pick handlers, e.g. `… throughput.ts route` (for profiling one).
// The handlers take turns, round after round, so load from other processes on a shared
// machine hits them alike; per-round ratios to "tokenize" are the steadiest figure.
const picked = process.argv.slice(2);
const chosen = Object.entries(handlersByName).filter(([name]) => picked.length === 0 || picked.includes(name));
const ROUNDS = 9;
for (const [, handler] of chosen) for (let i = 0; i < 3; i++) once(handler); // warm-up: JIT tiers, memory growth
const times = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, handler] of chosen) times.get(name)!.push(once(handler));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = times.get('tokenize');
for (const [name, ms] of times) {
  const mid = median(ms);
  const ratio = base && name !== 'tokenize' ? `, ${median(ms.map((t, i) => base[i] / t)).toFixed(2)}× of tokenize` : '';
  console.log(`${name.padEnd(8)} median ${(MB / (mid / 1000)).toFixed(0)} MB/s (${(stanzas / (mid / 1000) / 1e6).toFixed(2)} M stanzas/s), best ${(MB / (Math.min(...ms) / 1000)).toFixed(0)} MB/s${ratio}`);
}
if (sink === 0) console.log('(nothing read)');
