// SCRAM-SHA-1 client side (RFC 5802), for the load generator's logins.
//
// SaltedPassword (PBKDF2, 4096 × HMAC-SHA-1 in the load benchmark) is the expensive part of
// a login for the client, and the generator computes it on one core for every client. RFC
// 5802 §5.1 lets a client keep it for a (password, salt, iteration count), and real clients
// (Conversations, Gajim) store it; with a SaltedPasswordCache the generator does the same,
// so a login storm measures what the server costs rather than the generator's PBKDF2.
// Without one, every login pays a PBKDF2, whatever the salt.

import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

type Derive = (password: string, salt: Buffer, iterations: number) => Promise<Buffer>;

const pbkdf2Sha1: Derive = (password, salt, iterations) =>
  new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, salt, iterations, 20, 'sha1', (err, key) => (err ? reject(err) : resolve(key))),
  );

/**
 * SaltedPassword per (user, salt, iteration count), as a client that logged in before keeps
 * it. The password is part of the match too: another password for the same user and salt
 * derives again.
 */
export class SaltedPasswordCache {
  private readonly entries = new Map<string, { password: string; salted: Promise<Buffer> }>();
  /** PBKDF2 runs, for the benchmark's log and for tests. */
  derivations = 0;

  constructor(private readonly derive: Derive = pbkdf2Sha1) {}

  get size(): number {
    return this.entries.size;
  }

  saltedPassword(user: string, password: string, salt: string, iterations: number): Promise<Buffer> {
    const key = `${user}\0${salt}\0${iterations}`;
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.password === password) return hit.salted;
    const salted = this.compute(password, salt, iterations);
    this.entries.set(key, { password, salted });
    // A failed derivation is not kept: the next login tries again.
    salted.catch(() => {
      if (this.entries.get(key)?.salted === salted) this.entries.delete(key);
    });
    return salted;
  }

  private compute(password: string, salt: string, iterations: number): Promise<Buffer> {
    this.derivations++;
    return this.derive(password, Buffer.from(salt, 'base64'), iterations);
  }
}

export class ScramSha1Client {
  private readonly clientFirstBare: string;
  private authMessage = '';
  private serverSignature: Buffer | undefined;

  constructor(
    private readonly user: string,
    private readonly password: string,
    /** Undefined: PBKDF2 at every login. */
    private readonly cache?: SaltedPasswordCache,
  ) {
    // Bench account names need no SASLprep or escaping (letters and digits only).
    this.clientFirstBare = `n=${user},r=${randomBytes(18).toString('base64')}`;
  }

  /** The initial response (base64), gs2 header without channel binding. */
  first(): string {
    return Buffer.from(`n,,${this.clientFirstBare}`).toString('base64');
  }

  /** Answers the server-first challenge (base64 in, base64 out). */
  async final(challengeBase64: string): Promise<string> {
    const serverFirst = Buffer.from(challengeBase64, 'base64').toString('utf8');
    const fields = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = fields.get('r');
    const salt = fields.get('s');
    const iterations = Number(fields.get('i'));
    if (!nonce || !salt || !Number.isInteger(iterations) || iterations < 1) throw new Error(`${this.user}: bad server-first: ${serverFirst}`);
    const salted = this.cache !== undefined
      ? await this.cache.saltedPassword(this.user, this.password, salt, iterations)
      : await pbkdf2Sha1(this.password, Buffer.from(salt, 'base64'), iterations);
    const withoutProof = `c=biws,r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    const storedKey = createHash('sha1').update(clientKey).digest();
    const signature = createHmac('sha1', storedKey).update(this.authMessage).digest();
    for (let i = 0; i < clientKey.length; i++) clientKey[i]! ^= signature[i]!;
    const serverKey = createHmac('sha1', salted).update('Server Key').digest();
    this.serverSignature = createHmac('sha1', serverKey).update(this.authMessage).digest();
    return Buffer.from(`${withoutProof},p=${clientKey.toString('base64')}`).toString('base64');
  }

  /** Checks the server's v= (from <success> or a last challenge); throws on a mismatch. */
  verify(base64: string): void {
    const text = Buffer.from(base64, 'base64').toString('utf8');
    const v = /(?:^|,)v=([^,]*)/.exec(text)?.[1];
    if (v === undefined || this.serverSignature === undefined || Buffer.from(v, 'base64').compare(this.serverSignature) !== 0) {
      throw new Error(`${this.user}: server signature did not verify (${text})`);
    }
  }
}
