// The parser conformance table under Deno: same fixtures, same harness as the Bun tests,
// so loading the WASM module and every verdict are checked on both runtimes.

import assert from 'node:assert/strict';
import table from '../fixtures/parser/conformance.json' with { type: 'json' };
import { inputBytes, runCase, runSplit, type ConformanceTable } from '../unit/parser/harness.ts';
import { Random, generateStream } from '../unit/parser/generate.ts';

const conformance = table as ConformanceTable;
// Through globalThis so the file also type-checks under tsc, which has no Deno types.
const { Deno } = globalThis as unknown as { Deno: { test(name: string, fn: () => void): void } };

for (const c of conformance.cases) {
  Deno.test(`conformance: ${c.name}`, () => {
    assert.deepEqual(runCase(conformance, c), c.expect);
    const n = inputBytes(c.input).length;
    assert.deepEqual(runCase(conformance, c, Array.from({ length: n }, (_, i) => i)), c.expect);
  });
}

Deno.test('chunking: random streams give the same events whatever the split', () => {
  const encoder = new TextEncoder();
  for (let seed = 1; seed <= 20; seed++) {
    const r = new Random(seed);
    const bytes = encoder.encode(generateStream(r, { cdata: true, rawWhitespace: true }, 4));
    const whole = runSplit(bytes, []);
    assert.ok(whole.events.length > 0);
    for (let split = 1; split < bytes.length; split += 3) assert.deepEqual(runSplit(bytes, [split]).events, whole.events);
  }
});
