// Keeps the parser benchmark honest as its dependencies move: every adapter, on a small
// corpus cut into socket-sized chunks, must see exactly the stanzas (and in route mode
// the ids and text or raw bytes) the generator wrote.

import { describe, expect, test } from 'bun:test';
import { MODES, type ParserAdapter } from '../../../bench/parser/adapter.ts';
import { meerkat, meerkatBuilt, meerkatToElement } from '../../../bench/parser/adapters/meerkat.ts';
import { PEERS } from '../../../bench/parser/adapters/peers.ts';
import { checkResult } from '../../../bench/parser/check.ts';
import { buildCorpus, CORPUS_KINDS } from '../../../bench/parser/corpus/index.ts';
import { buildHarness, runHarness, writeCorpusFile } from '../../../bench/parser/expat/native.ts';
import { StanzaFramer } from '../../../bench/parser/framing.ts';
import { measureNodeExpat } from '../../../bench/parser/node/launch.ts';
import { rmSync } from 'node:fs';

const corpora = CORPUS_KINDS.map((kind) => buildCorpus(kind, 96 * 1024));
const adapters: ParserAdapter[] = [...(meerkatBuilt() ? [meerkat, meerkatToElement] : []), ...PEERS];

describe('parser benchmark corpus', () => {
  test('is deterministic and splits characters across chunks', () => {
    const again = buildCorpus('mixed', 96 * 1024);
    const mixed = corpora[1]!;
    expect(again.bytes).toEqual(mixed.bytes);
    expect(again.chunkSizes).toEqual(mixed.chunkSizes);
    expect(mixed.midCharacterSplits).toBeGreaterThan(0);
    expect(Math.max(...mixed.chunkSizes)).toBeLessThanOrEqual(4096);
  });
});

describe('parser benchmark adapters', () => {
  test('the WASM tokenizer is built (npm run build:wasm)', () => {
    expect(meerkatBuilt()).toBe(true);
  });
  for (const adapter of adapters) {
    for (const mode of MODES) {
      if (adapter.modes && !adapter.modes.includes(mode)) continue;
      test(`${adapter.name} counts every stanza (${mode})`, async () => {
        const parser = await adapter.create(mode);
        try {
          for (const corpus of corpora) {
            // Twice: adapters that reuse one parser must reset it between streams.
            for (let pass = 0; pass < 2; pass++) checkResult(adapter, corpus, mode, parser.parseStream(corpus.chunks));
          }
        } finally {
          parser.dispose();
        }
      });
    }
  }

  test('a wrong count fails the check', () => {
    const corpus = corpora[0]!;
    expect(() => checkResult(PEERS[0]!, corpus, 'tokenize', { stanzas: corpus.expected.stanzas - 1 })).toThrow(/stanzas/);
  });
});

describe('txml framing', () => {
  test('finds stanza ends across any split, including ">" inside attribute values', () => {
    const xml = "<?xml version='1.0'?><s:s xmlns:s='x'><a b='>'/><m t=\"/>\"><b>1 &gt; 0</b></m><c/></s:s>";
    for (let cut = 0; cut <= xml.length; cut++) {
      const seen: string[] = [];
      const framer = new StanzaFramer();
      framer.push(xml.slice(0, cut), (s) => seen.push(s));
      framer.push(xml.slice(cut), (s) => seen.push(s));
      expect(seen).toEqual(["<a b='>'/>", '<m t="/>"><b>1 &gt; 0</b></m>', '<c/>']);
    }
  });
});

describe('libexpat harness', () => {
  // .ci/run installs gcc and libexpat1-dev: a harness that cannot be built is a failure.
  test('sees the same stanzas, ids and raw bytes', () => {
    const harness = buildHarness();
    if ('skipped' in harness) throw new Error(`libexpat harness: ${harness.skipped}`);
    for (const corpus of corpora) {
      const file = writeCorpusFile(corpus);
      const run = runHarness(harness.binary, file, 'route', 0, 1);
      rmSync(file, { force: true });
      expect([run.stanzas, run.ids, run.raw_bytes]).toEqual([corpus.expected.stanzas, corpus.expected.ids, corpus.expected.stanzaBytes]);
    }
  });
});

describe('node-expat (Node child process)', () => {
  // The first run builds the addon with node-gyp against the local Node headers.
  test('passes its checks on every corpus and mode', () => {
    const result = measureNodeExpat(32 * 1024, { minSeconds: 0, minSamples: 1 });
    if ('skipped' in result) throw new Error(result.skipped);
    expect(result.map((m) => `${m.corpus}/${m.mode}`)).toEqual(['small/tokenize', 'small/route', 'mixed/tokenize', 'mixed/route']);
  }, 180_000);
});
