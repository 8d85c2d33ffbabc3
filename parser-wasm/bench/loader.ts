// Loader comparison: the per-chunk path (reserve, copy, run until NEED_MORE) through the
// raw WebAssembly exports versus through @assemblyscript/loader's wrapped exports (which
// set the argument count before every call). Same module, same input.
// Run: bun parser-wasm/bench/loader.ts

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';
import { bench, run, summary } from 'mitata';
import { TokenizerInstance, type TokenizerExports } from '../host/wasm.ts';
import { chatStream, chunkSizes } from './corpus.ts';

const path = fileURLToPath(new URL('../build/release.wasm', import.meta.url).href);
const { bytes, stanzas } = chatStream(4 * 1024 * 1024);
const sizes = chunkSizes(bytes.length);

function instances(): { raw: TokenizerInstance; wrapped: TokenizerInstance } {
  const module = new WebAssembly.Module(readFileSync(path) as Uint8Array<ArrayBuffer>);
  const a = instantiateSync<Record<string, unknown>>(module, {});
  const b = instantiateSync<Record<string, unknown>>(module, {});
  return {
    raw: new TokenizerInstance(a.instance.exports as unknown as TokenizerExports),
    wrapped: new TokenizerInstance(b.exports as unknown as TokenizerExports),
  };
}

function tokenize(t: TokenizerInstance): number {
  const ex = t.exports;
  const s = ex.streamNew(0);
  for (let i = 0; i < 6; i++) ex.streamSetLimit(s, i, 1 << 30);
  let seen = 0;
  let at = 0;
  for (const n of sizes) {
    const len = Math.min(n, bytes.length - at);
    const p = ex.streamReserve(s, len);
    t.u8.set(bytes.subarray(at, at + len), p);
    at += len;
    for (;;) {
      const ev = ex.streamRun(s);
      if (ev === 0) break;
      if (ev === 2) seen++;
      if (ev === 4) throw new Error('unexpected tokenizer error');
    }
  }
  ex.streamFree(s);
  if (seen !== stanzas) throw new Error(`expected ${stanzas} stanzas, saw ${seen}`);
  return seen;
}

const { raw, wrapped } = instances();
summary(() => {
  bench('raw exports', () => tokenize(raw));
  bench('@assemblyscript/loader wrapped exports', () => tokenize(wrapped));
});
await run();
