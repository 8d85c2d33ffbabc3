// XEP-0114 §3 handshake: the component proves it knows the shared secret by sending the
// hex SHA-1 of the stream id followed by the secret. The id is 128 random bits from the
// CSPRNG, so a digest seen once cannot be replayed on another stream; the comparison is
// constant-time (security rule 8).

import { createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../auth/constant-time.ts';

const encoder = new TextEncoder();

/** A fresh, unpredictable stream id. */
export function componentStreamId(): string {
  return randomBytes(16).toString('hex');
}

export function handshakeDigest(streamId: string, secret: string): string {
  return createHash('sha1').update(streamId + secret, 'utf8').digest('hex');
}

/** Whether the component's handshake text is the digest for this stream and secret. */
export function handshakeMatches(received: string, streamId: string, secret: string): boolean {
  // Hex case is not part of the secret; compare a canonical lower-case form.
  const given = encoder.encode(received.trim().toLowerCase());
  const expected = encoder.encode(handshakeDigest(streamId, secret));
  return constantTimeEqual(given, expected);
}
