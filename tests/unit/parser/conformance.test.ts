// The conformance table (tests/fixtures/parser/conformance.json): every error condition
// with its offset, and valid inputs with the trees they must produce. Each case also runs
// fed one byte at a time, which must not change anything.

import { describe, expect, test } from 'bun:test';
import table from '../../fixtures/parser/conformance.json' with { type: 'json' };
import { inputBytes, runCase, type ConformanceTable } from './harness.ts';

const conformance = table as ConformanceTable;

describe('conformance table', () => {
  for (const c of conformance.cases) {
    test(c.name, () => {
      expect(runCase(conformance, c)).toEqual(c.expect);
    });
  }
});

describe('conformance table, fed one byte at a time', () => {
  for (const c of conformance.cases) {
    test(c.name, () => {
      const n = inputBytes(c.input).length;
      const everyByte = Array.from({ length: n }, (_, i) => i);
      expect(runCase(conformance, c, everyByte)).toEqual(c.expect);
    });
  }
});

test('the table covers every error condition', () => {
  const seen = new Set(conformance.cases.flatMap((c) => c.expect).filter((e) => e.startsWith('error:')).map((e) => e.split(/[:@]/)[1]));
  expect([...seen].sort()).toEqual(['bad-namespace-prefix', 'not-well-formed', 'policy-violation', 'restricted-xml', 'unsupported-encoding']);
});
