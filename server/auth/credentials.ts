// Stored SCRAM credentials (RFC 5802 §3): per hash a salt, an iteration count, StoredKey
// and ServerKey. The password itself is never kept; PLAIN logins are checked by
// recomputing StoredKey from the offered password.

import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from './constant-time.ts';
import { prepareSaslString } from './saslprep.ts';
import { SCRAM_HASHES, keysFromSaltedPassword, saltedPassword, type ScramHash } from './scram-keys.ts';

export type { ScramHash } from './scram-keys.ts';

export type ScramCredential = {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 */
  storedKey: string;
  /** base64 */
  serverKey: string;
};

export type StoredCredentials = { [hash in ScramHash]?: ScramCredential };

// RFC 7677 asks for at least 4096 iterations. We use 10000 for every hash: clients
// (phones included) pay this cost on each SCRAM login, and 10000 keeps that well under a
// second while doubling the attacker's cost over the minimum. Deployments wanting more
// pass `iterations`; stored counts travel with each credential, so raising the default
// later does not break existing accounts.
export const DEFAULT_ITERATIONS: Readonly<Record<ScramHash, number>> = { 'SHA-1': 10000, 'SHA-256': 10000, 'SHA-512': 10000 };

// 16 random bytes: RFC 5802 sets no size, and 128 bits makes salt reuse across accounts
// practically impossible.
export const SALT_BYTES = 16;

// An upper bound so a configuration typo cannot make each login take minutes.
const MAX_ITERATIONS = 10_000_000;

// Strongest first: PLAIN verification checks one hash, the best one the account has.
const PREFERENCE: readonly ScramHash[] = ['SHA-512', 'SHA-256', 'SHA-1'];

export type DeriveOptions = { iterations?: number; hashes?: ScramHash[] };

export async function deriveCredentials(password: string, opts: DeriveOptions = {}): Promise<StoredCredentials> {
  const hashes = opts.hashes ?? [...SCRAM_HASHES];
  if (hashes.length === 0) throw new RangeError('deriveCredentials: at least one hash is required');
  for (const h of hashes) {
    if (!SCRAM_HASHES.includes(h)) throw new RangeError(`deriveCredentials: unknown hash ${String(h)}`);
  }
  const prepared = prepPassword(password);
  const result: StoredCredentials = {};
  for (const hash of hashes) {
    const iterations = opts.iterations ?? DEFAULT_ITERATIONS[hash];
    result[hash] = await deriveScramCredential(prepared, hash, randomBytes(SALT_BYTES), iterations, { prepared: true });
  }
  return result;
}

/**
 * One hash's credential from a known salt — for importing accounts and for fixtures.
 * The password is SASLprep'd unless `prepared` says the caller already did.
 */
export async function deriveScramCredential(
  password: string,
  hash: ScramHash,
  salt: Uint8Array,
  iterations: number,
  opts: { prepared?: boolean } = {},
): Promise<ScramCredential> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iteration count must be an integer from 1 to ${MAX_ITERATIONS}, got ${iterations}`);
  }
  if (salt.length === 0) throw new RangeError('salt must not be empty');
  const prepared = opts.prepared ? password : prepPassword(password);
  const keys = keysFromSaltedPassword(hash, await saltedPassword(hash, prepared, salt, iterations));
  return {
    salt: Buffer.from(salt).toString('base64'),
    iterations,
    storedKey: Buffer.from(keys.storedKey).toString('base64'),
    serverKey: Buffer.from(keys.serverKey).toString('base64'),
  };
}

export async function verifyPlainPassword(creds: StoredCredentials, password: string): Promise<boolean> {
  const hash = PREFERENCE.find((h) => creds[h] !== undefined);
  if (hash === undefined) return false;
  const cred = creds[hash]!;
  const prepared = prepareSaslString(password);
  if (prepared === undefined) return false;
  const salted = await saltedPassword(hash, prepared, Buffer.from(cred.salt, 'base64'), cred.iterations);
  const { storedKey } = keysFromSaltedPassword(hash, salted);
  return constantTimeEqual(storedKey, Buffer.from(cred.storedKey, 'base64'));
}

// Throws on a password SASLprep refuses (RFC 4013 prohibited output): an account must not
// be created with a password that no login could ever reproduce.
function prepPassword(password: string): string {
  const prepared = prepareSaslString(password);
  if (prepared === undefined) throw new RangeError('password is empty or prohibited under SASLprep (RFC 4013)');
  return prepared;
}
