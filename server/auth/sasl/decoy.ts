// Decoy credentials for users that do not exist, so that the answer to "does this account
// exist?" cannot be read from the exchange: SCRAM sends a salt that is stable per username
// (a random one would change between attempts and give the game away), and PLAIN runs the
// same PBKDF2 work a real account would cost.

import { Buffer } from 'node:buffer';
import { createHmac } from 'node:crypto';
import { DEFAULT_ITERATIONS, SALT_BYTES, type ScramCredential, type StoredCredentials } from '../credentials.ts';
import { hashOutputLength, type ScramHash } from '../scram-keys.ts';

function derive(secret: Uint8Array, purpose: string, hash: ScramHash, username: string, bytes: number): string {
  // NUL separates the fields: none of them can contain one (SASL names exclude it).
  const mac = createHmac('sha512', secret).update(`meerkat-sasl-decoy\0${purpose}\0${hash}\0${username}`).digest();
  return mac.subarray(0, bytes).toString('base64');
}

/**
 * Called when an exchange starts, for known and unknown users alike: a misconfigured
 * secret must fail every login, not only those for missing accounts (which would turn
 * the error itself into an existence oracle).
 */
export function checkServerSecret(secret: Uint8Array): void {
  if (secret.length < 16) throw new RangeError('serverSecret must be at least 16 bytes');
}

/**
 * `iterations` must be what new accounts get ([auth.password] scram_iterations): the `i=`
 * of a decoy is sent to the client, so any other value tells a missing account apart.
 */
export function decoyCredential(secret: Uint8Array, hash: ScramHash, username: string, iterations = DEFAULT_ITERATIONS[hash]): ScramCredential {
  const size = hashOutputLength(hash);
  return {
    salt: derive(secret, 'salt', hash, username, SALT_BYTES),
    iterations,
    storedKey: derive(secret, 'stored-key', hash, username, size),
    serverKey: derive(secret, 'server-key', hash, username, size),
  };
}

/** A full record shaped like what deriveCredentials produces by default. */
export function decoyCredentials(secret: Uint8Array, username: string, iterations?: number): StoredCredentials {
  return {
    'SHA-1': decoyCredential(secret, 'SHA-1', username, iterations),
    'SHA-256': decoyCredential(secret, 'SHA-256', username, iterations),
    'SHA-512': decoyCredential(secret, 'SHA-512', username, iterations),
  };
}

export function decodeStoredBytes(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'));
}
