// Secret comparison that takes the same time whatever the contents (security rule 8).
// node:crypto's timingSafeEqual throws on unequal lengths, so a length mismatch still
// runs one comparison (of `a` with itself) before answering false: the caller's inputs
// are fixed-size digests, and a length difference is not itself secret.

import { timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}
