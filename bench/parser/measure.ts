// Times one adapter on one corpus in one mode with mitata, checking the result of every
// pass. Runtime-neutral: the Node child process (node-expat) uses it too.

import { measure } from 'mitata';
import type { Mode, ParserAdapter } from './adapter.ts';
import { checkResult } from './check.ts';
import type { Corpus, CorpusKind } from './corpus/index.ts';

export interface Measurement {
  parser: string;
  version: string;
  runtime: string;
  corpus: CorpusKind;
  mode: Mode;
  /**
   * Best time of one pass over the whole stream, in nanoseconds. The best, not the
   * median: on a shared 2-core machine other processes steal whole time slices, and the
   * best pass is the estimate least disturbed by them (every pass still includes its GC).
   */
  bestNs: number;
  samples: number;
  bytes: number;
  stanzas: number;
  note?: string;
}

export interface Budget {
  /** Minimum measured time per (parser, corpus, mode), in seconds. */
  minSeconds: number;
  minSamples: number;
}

export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `bun ${versions.bun}`;
  if (versions.deno) return `deno ${versions.deno}`;
  return `node ${process.versions.node}`;
}

export async function measureAdapter(adapter: ParserAdapter, corpus: Corpus, mode: Mode, budget: Budget): Promise<Measurement> {
  const parser = await adapter.create(mode);
  try {
    const pass = (): void => checkResult(adapter, corpus, mode, parser.parseStream(corpus.chunks));
    pass(); // fails fast, before any timing, when the adapter is wrong
    const stats = await measure(pass, {
      min_cpu_time: budget.minSeconds * 1e9,
      min_samples: budget.minSamples,
      warmup_samples: 2,
    });
    return {
      parser: adapter.name,
      version: adapter.version,
      runtime: runtimeName(),
      corpus: corpus.kind,
      mode,
      bestNs: stats.min,
      samples: stats.samples.length,
      bytes: corpus.bytes.length,
      stanzas: corpus.expected.stanzas,
      note: adapter.textDeviation,
    };
  } finally {
    parser.dispose();
  }
}
