// Test fixtures: a SASL context over an in-memory user table, and a SCRAM client written
// independently of the server code (its own PBKDF2/HMAC calls), so round trips check the
// server against the RFC rather than against itself.

import { Buffer } from 'node:buffer';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import type { ScramHash, StoredCredentials } from '../../../server/auth/credentials.ts';
import type { ChannelBindingData, SaslContext, SaslStep } from '../../../server/auth/sasl/index.ts';

export const SERVER_SECRET = new Uint8Array(32).fill(7);

export function makeContext(opts: {
  users?: Record<string, StoredCredentials>;
  channelBinding?: ChannelBindingData;
  offeredMechanisms?: string[];
  serverNonce?: string;
  host?: string;
  lookups?: string[];
  authorize?: (authcid: string, authzid: string) => Promise<boolean>;
  failLookup?: boolean;
} = {}): SaslContext {
  const ctx: SaslContext = {
    host: opts.host ?? 'example.com',
    channelBinding: opts.channelBinding,
    serverSecret: SERVER_SECRET,
    async lookupCredentials(username) {
      opts.lookups?.push(username);
      if (opts.failLookup) throw new Error('storage down');
      return opts.users?.[username];
    },
  };
  if (opts.offeredMechanisms !== undefined) ctx.offeredMechanisms = opts.offeredMechanisms;
  if (opts.serverNonce !== undefined) {
    const nonce = opts.serverNonce;
    ctx.generateNonce = () => nonce;
  }
  if (opts.authorize !== undefined) ctx.authorize = opts.authorize;
  return ctx;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

export function challengeText(step: SaslStep): string {
  if (step.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(step)}`);
  return text(step.data);
}

const NODE: Record<ScramHash, [string, number]> = { 'SHA-1': ['sha1', 20], 'SHA-256': ['sha256', 32], 'SHA-512': ['sha512', 64] };

export type ScramClientOptions = {
  hash: ScramHash;
  username: string;
  password: string;
  clientNonce?: string;
  /** Defaults to "n,,". */
  gs2Header?: string;
  /** Channel binding data appended to the gs2 header in c=. */
  cbData?: Uint8Array;
};

export class TestScramClient {
  readonly gs2Header: string;
  readonly bare: string;
  private serverSignature = '';

  constructor(private readonly opts: ScramClientOptions) {
    this.gs2Header = opts.gs2Header ?? 'n,,';
    const name = opts.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.bare = `n=${name},r=${opts.clientNonce ?? 'rOprNGfwEbeRWgbNEkqO'}`;
  }

  first(): Uint8Array {
    return utf8(this.gs2Header + this.bare);
  }

  /** The client-final message for a server-first message; `tamper` may rewrite it before the proof is computed. */
  final(serverFirst: string, tamper: { c?: string; r?: string; extensions?: string; proof?: (p: Buffer) => Buffer } = {}): Uint8Array {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    const [alg, size] = NODE[this.opts.hash];
    const salted = pbkdf2Sync(this.opts.password, Buffer.from(attrs.s!, 'base64'), Number(attrs.i), size, alg);
    const clientKey = createHmac(alg, salted).update('Client Key').digest();
    const storedKey = createHash(alg).update(clientKey).digest();
    const cbind = Buffer.concat([Buffer.from(this.gs2Header), Buffer.from(this.opts.cbData ?? new Uint8Array(0))]);
    const withoutProof = `c=${tamper.c ?? cbind.toString('base64')},r=${tamper.r ?? attrs.r}${tamper.extensions ?? ''}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const signature = createHmac(alg, storedKey).update(authMessage).digest();
    let proof: Buffer = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    if (tamper.proof) proof = tamper.proof(proof);
    const serverKey = createHmac(alg, salted).update('Server Key').digest();
    this.serverSignature = `v=${createHmac(alg, serverKey).update(authMessage).digest('base64')}`;
    return utf8(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** What the server's success data must be for the last final() message. */
  expectedServerFinal(): string {
    return this.serverSignature;
  }
}
