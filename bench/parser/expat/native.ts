// The libexpat baseline: builds expat-bench.c with the system C compiler against
// Debian's libexpat1-dev, writes the corpus and its chunk sizes to a file the harness
// reads, runs it and turns its JSON line into a measurement. When the compiler or the
// library is missing it says so instead of failing the whole benchmark.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mode } from '../adapter.ts';
import type { Corpus } from '../corpus/index.ts';

const SOURCE = fileURLToPath(new URL('./expat-bench.c', import.meta.url));
const BINARY = fileURLToPath(new URL('./expat-bench', import.meta.url));

export interface NativeRun {
  iterations: number;
  median_ns: number;
  min_ns: number;
  stanzas: number;
  ids: number;
  raw_bytes: number;
  expat: string;
}

/** Path of a current build of the harness, or why there is none. */
export function buildHarness(): { binary: string } | { skipped: string } {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return { binary: BINARY };
  if (!existsSync('/usr/include/expat.h')) {
    return { skipped: 'libexpat headers not found (apt-get install libexpat1-dev)' };
  }
  const cc = spawnSync('cc', ['-O2', '-o', BINARY, SOURCE, '-lexpat'], { encoding: 'utf8' });
  if (cc.error) return { skipped: `no C compiler (${cc.error.message})` };
  if (cc.status !== 0) return { skipped: `cc failed: ${cc.stderr.trim().split('\n').slice(0, 3).join(' ')}` };
  return { binary: BINARY };
}

export function writeCorpusFile(corpus: Corpus): string {
  const count = corpus.chunkSizes.length;
  const file = new Uint8Array(12 + 4 * count + corpus.bytes.length);
  const view = new DataView(file.buffer);
  file.set(new TextEncoder().encode('MKB1'), 0);
  view.setUint32(4, count, true);
  view.setUint32(8, corpus.bytes.length, true);
  corpus.chunkSizes.forEach((size, i) => view.setUint32(12 + 4 * i, size, true));
  file.set(corpus.bytes, 12 + 4 * count);
  const path = join(tmpdir(), `meerkat-parser-bench-${corpus.kind}-${process.pid}.bin`);
  writeFileSync(path, file);
  return path;
}

export function runHarness(binary: string, corpusFile: string, mode: Mode, minSeconds: number, minIterations: number): NativeRun {
  const run = spawnSync(binary, [corpusFile, mode, String(minSeconds), String(minIterations)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`expat-bench failed: ${(run.stderr || run.error?.message || '').trim()}`);
  return JSON.parse(run.stdout) as NativeRun;
}
