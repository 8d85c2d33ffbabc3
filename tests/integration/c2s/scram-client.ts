// A small SCRAM client (RFC 5802, RFC 7677; -PLUS per RFC 5929/9266) for raw-socket
// tests: builds client-first and client-final, and checks the server signature.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramHashName = 'SHA-1' | 'SHA-256' | 'SHA-512';

const NODE_HASH: Record<ScramHashName, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' };
const KEY_LENGTH: Record<ScramHashName, number> = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-512': 64 };

export interface ScramClientOptions {
  hash: ScramHashName;
  username: string;
  password: string;
  authzid?: string;
  /** For -PLUS: the binding type and data (p=<type>). */
  channelBinding?: { type: string; data: Uint8Array };
  nonce?: string;
}

export interface ServerFirst {
  nonce: string;
  salt: string;
  iterations: number;
}

function saslName(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

export class ScramClient {
  private readonly clientNonce: string;
  private readonly gs2Header: string;
  private clientFirstBare = '';
  private serverSignature: Buffer | undefined;

  constructor(private readonly o: ScramClientOptions) {
    this.clientNonce = o.nonce ?? randomBytes(18).toString('base64');
    const flag = o.channelBinding ? `p=${o.channelBinding.type}` : 'n';
    this.gs2Header = `${flag},${o.authzid ? `a=${saslName(o.authzid)}` : ''},`;
  }

  /** client-first-message: the <auth/> payload. */
  first(): string {
    this.clientFirstBare = `n=${saslName(this.o.username)},r=${this.clientNonce}`;
    return this.gs2Header + this.clientFirstBare;
  }

  static parseServerFirst(message: string): ServerFirst {
    const fields = new Map(message.split(',').map((f) => [f.slice(0, 1), f.slice(2)] as const));
    return { nonce: fields.get('r') ?? '', salt: fields.get('s') ?? '', iterations: Number(fields.get('i')) };
  }

  /** client-final-message: the <response/> payload answering `serverFirst`. */
  final(serverFirst: string): string {
    const { nonce, salt, iterations } = ScramClient.parseServerFirst(serverFirst);
    if (!nonce.startsWith(this.clientNonce)) throw new Error('server nonce does not extend ours');
    const hash = NODE_HASH[this.o.hash];
    const cbind = Buffer.concat([Buffer.from(this.gs2Header), Buffer.from(this.o.channelBinding?.data ?? new Uint8Array(0))]);
    const withoutProof = `c=${cbind.toString('base64')},r=${nonce}`;
    const salted = pbkdf2Sync(this.o.password, Buffer.from(salt, 'base64'), iterations, KEY_LENGTH[this.o.hash], hash);
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const storedKey = createHash(hash).update(clientKey).digest();
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ clientSignature[i]!));
    const serverKey = createHmac(hash, salted).update('Server Key').digest();
    this.serverSignature = createHmac(hash, serverKey).update(authMessage).digest();
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Whether server-final (the <success/> payload) carries the signature we expect. */
  verify(serverFinal: string): boolean {
    if (!this.serverSignature || !serverFinal.startsWith('v=')) return false;
    const got = Buffer.from(serverFinal.slice(2), 'base64');
    return got.length === this.serverSignature.length && timingSafeEqual(got, this.serverSignature);
  }
}

export const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
