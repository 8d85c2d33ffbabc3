// Chunking must not matter: whatever the split points, the events (and the offsets and
// bytes of every forwarded stanza) equal those of feeding everything at once.

import { describe, expect, test } from 'bun:test';
import { Random, generateStream } from './generate.ts';
import { runSplit, runWhole, type RunResult } from './harness.ts';

const encoder = new TextEncoder();

function same(a: RunResult, b: RunResult): void {
  expect(b.events).toEqual(a.events);
  expect(b.slices.map((s) => s.offset)).toEqual(a.slices.map((s) => s.offset));
  expect(b.slices.map((s) => Array.from(s.raw).join(','))).toEqual(a.slices.map((s) => Array.from(s.raw).join(',')));
}

/** Corrupts one byte so that error paths get chunked too. */
function corrupt(r: Random, bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  const at = 140 + r.int(Math.max(1, copy.length - 140));
  if (at < copy.length) copy[at] = r.pick([0x3c, 0x26, 0x00, 0xff, 0xc3, 0x5d, 0x3e, 0x22, 0x27, 0x3a]);
  return copy;
}

describe('every split point of small streams', () => {
  for (let seed = 1; seed <= 60; seed++) {
    test(`seed ${seed}`, () => {
      const r = new Random(seed);
      let bytes: Uint8Array = encoder.encode(generateStream(r, { cdata: true, rawWhitespace: true }, 2));
      if (seed % 3 === 0) bytes = corrupt(r, bytes);
      const whole = runWhole(bytes);
      for (let split = 1; split < bytes.length; split++) same(whole, runSplit(bytes, [split]));
      same(whole, runSplit(bytes, Array.from({ length: bytes.length }, (_, i) => i)));
    });
  }
});

describe('random chunkings of larger streams', () => {
  for (let seed = 100; seed < 160; seed++) {
    test(`seed ${seed}`, () => {
      const r = new Random(seed);
      let bytes: Uint8Array = encoder.encode(generateStream(r, { cdata: true, rawWhitespace: true }, 8 + r.int(20)));
      if (seed % 4 === 0) bytes = corrupt(r, bytes);
      const whole = runWhole(bytes);
      expect(whole.events.length).toBeGreaterThan(0);
      for (let round = 0; round < 20; round++) {
        const splits: number[] = [];
        const maxChunk = r.pick([2, 7, 64, 700, 4096]);
        for (let at = r.int(maxChunk) + 1; at < bytes.length; at += 1 + r.int(maxChunk)) splits.push(at);
        same(whole, runSplit(bytes, splits));
      }
    });
  }
});
