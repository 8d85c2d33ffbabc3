// SCRAM key arithmetic shared by credential derivation, PLAIN verification and the SCRAM
// exchange (RFC 5802 §3). Kept apart so every path computes keys exactly one way.

import { Buffer } from 'node:buffer';
import { createHash, createHmac, pbkdf2 } from 'node:crypto';

export type ScramHash = 'SHA-1' | 'SHA-256' | 'SHA-512';

export const SCRAM_HASHES: readonly ScramHash[] = ['SHA-1', 'SHA-256', 'SHA-512'];

const NODE_NAME: Record<ScramHash, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' };
const OUTPUT_BYTES: Record<ScramHash, number> = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-512': 64 };

export function hashOutputLength(hash: ScramHash): number {
  return OUTPUT_BYTES[hash];
}

export function digest(hash: ScramHash, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(NODE_NAME[hash]).update(data).digest());
}

export function hmac(hash: ScramHash, key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHmac(NODE_NAME[hash], key).update(data).digest());
}

// Hi() of RFC 5802 is PBKDF2 with HMAC and a single output block of the hash's size.
// The asynchronous form runs on the thread pool, so a login does not stall the event loop.
export function saltedPassword(hash: ScramHash, password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, OUTPUT_BYTES[hash], NODE_NAME[hash], (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key));
    });
  });
}

export type ScramKeys = { storedKey: Uint8Array; serverKey: Uint8Array };

export function keysFromSaltedPassword(hash: ScramHash, salted: Uint8Array): ScramKeys {
  const clientKey = hmac(hash, salted, 'Client Key');
  return { storedKey: digest(hash, clientKey), serverKey: hmac(hash, salted, 'Server Key') };
}
