// SCRAM-SHA-1 client side (RFC 5802), for the load generator's logins. Nothing is cached
// between logins: every login pays one PBKDF2 like a real client does, whatever the salt.

import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';

export class ScramSha1Client {
  private readonly clientFirstBare: string;
  private authMessage = '';
  private serverSignature: Buffer | undefined;

  constructor(
    private readonly user: string,
    private readonly password: string,
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
    const salted = await new Promise<Buffer>((resolve, reject) =>
      pbkdf2(this.password, Buffer.from(salt, 'base64'), iterations, 20, 'sha1', (err, key) => (err ? reject(err) : resolve(key))),
    );
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
