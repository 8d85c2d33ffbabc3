// The one input set every adapter and the native harness parse. Deterministic: the same
// seed and size give the same bytes and the same chunk boundaries on every runtime.

import { chunkSizes, countMidCharacterSplits, sliceChunks } from './chunks.ts';
import { type CorpusTotals, Markup } from './markup.ts';
import { writeMixedStanzas } from './mixed.ts';
import { Random } from './random.ts';
import { writeSmallStanzas } from './small.ts';

export type CorpusKind = 'small' | 'mixed';

export interface Corpus {
  kind: CorpusKind;
  bytes: Uint8Array;
  chunks: Uint8Array[];
  chunkSizes: number[];
  expected: CorpusTotals;
  midCharacterSplits: number;
}

export const CORPUS_KINDS: readonly CorpusKind[] = ['small', 'mixed'];

const SEEDS: Record<CorpusKind, number> = { small: 0x6d65_6572, mixed: 0x6b61_7421 };

const STREAM_HEADER =
  "<?xml version='1.0'?>" +
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'" +
  " to='example.com' version='1.0' xml:lang='en'>";

export function buildCorpus(kind: CorpusKind, targetBytes: number): Corpus {
  const random = new Random(SEEDS[kind]);
  const markup = new Markup(random);
  markup.raw(STREAM_HEADER);
  if (kind === 'small') writeSmallStanzas(markup, random, targetBytes);
  else writeMixedStanzas(markup, random, targetBytes);
  markup.raw('</stream:stream>');
  const bytes = markup.toBytes();
  // A separate generator for the cuts, so changing stanza content keeps chunking comparable.
  const sizes = chunkSizes(bytes.length, new Random(SEEDS[kind] ^ 0x5eed));
  const chunks = sliceChunks(bytes, sizes);
  return {
    kind,
    bytes,
    chunks,
    chunkSizes: sizes,
    expected: markup.totals,
    midCharacterSplits: countMidCharacterSplits(chunks),
  };
}
