// Cuts a stream into the pieces a socket read would return. Sizes run from 1 to 4096
// bytes: half drawn log-uniformly (many small reads, as on an interactive connection),
// half uniformly (full-ish reads under load). Boundaries fall anywhere, including inside
// a UTF-8 sequence, a tag, an attribute value or an entity.

import type { Random } from './random.ts';

export const MAX_CHUNK = 4096;

export function chunkSizes(total: number, random: Random): number[] {
  const sizes: number[] = [];
  let left = total;
  while (left > 0) {
    const size = random.chance(0.5)
      ? Math.floor(Math.exp(random.next() * Math.log(MAX_CHUNK + 1)))
      : random.int(1, MAX_CHUNK);
    const clamped = Math.min(left, Math.max(1, size));
    sizes.push(clamped);
    left -= clamped;
  }
  return sizes;
}

/** Views into `bytes`, one per size; no copies, so every parser reads the same memory. */
export function sliceChunks(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const size of sizes) {
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** How many chunks begin with a UTF-8 continuation byte, i.e. split a character. */
export function countMidCharacterSplits(chunks: readonly Uint8Array[]): number {
  let splits = 0;
  for (const chunk of chunks) if (chunk.length > 0 && ((chunk[0] as number) & 0xc0) === 0x80) splits++;
  return splits;
}
