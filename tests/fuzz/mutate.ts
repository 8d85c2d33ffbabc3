// Byte-level mutations of valid inputs (the classic fuzzer moves): flip, insert, delete,
// duplicate a slice, splice in an interesting token. fast-check picks and shrinks them.

import fc from 'fast-check';

const enc = new TextEncoder();

export type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; length: number }
  | { op: 'repeat'; at: number; length: number; times: number };

export function mutationArb(tokens: readonly string[]): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: 1 << 16 });
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at, bytes: fc.oneof(fc.uint8Array({ maxLength: 16 }), fc.constantFrom(...tokens).map((t) => enc.encode(t))) }),
    fc.record({ op: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ op: fc.constant('repeat' as const), at, length: fc.integer({ min: 1, max: 32 }), times: fc.integer({ min: 2, max: 200 }) }),
  );
}

export function applyMutations(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Array.from(input);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    if (m.op === 'flip') {
      if (bytes.length > 0) bytes[at % bytes.length] = m.byte;
    } else if (m.op === 'insert') {
      bytes.splice(at, 0, ...m.bytes);
    } else if (m.op === 'delete') {
      bytes.splice(at, m.length);
    } else {
      const slice = bytes.slice(at, at + m.length);
      const out: number[] = [];
      for (let i = 0; i < m.times; i++) out.push(...slice);
      bytes.splice(at, 0, ...out);
    }
  }
  return Uint8Array.from(bytes);
}

/** A corpus entry mutated zero or more times. */
export function mutatedArb(corpus: readonly string[], tokens: readonly string[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...corpus), fc.array(mutationArb(tokens), { maxLength: 8 }))
    .map(([seed, ms]) => applyMutations(enc.encode(seed), ms));
}

/** Points at which to cut `length` bytes into chunks. */
export function splitsArb(): fc.Arbitrary<number[]> {
  return fc.array(fc.nat({ max: 1 << 16 }), { maxLength: 12 });
}
