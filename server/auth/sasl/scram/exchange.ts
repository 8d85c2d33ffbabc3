// One SCRAM authentication attempt, server side (RFC 5802 §5, RFC 7677; -PLUS with the
// channel bindings of RFC 5929 and RFC 9266).
//
//   [no initial response] → empty challenge
//   client-first          → challenge: server-first (r=, s=, i=)
//   client-final          → success carrying v=ServerSignature, or failure
//
// Unknown users get a decoy credential (stable salt per username) and fail at the proof
// exactly like a wrong password, so the exchange does not reveal whether an account exists.

import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../../constant-time.ts';
import { digest, hashOutputLength, hmac, type ScramHash } from '../../scram-keys.ts';
import { prepareSaslString } from '../../saslprep.ts';
import { checkServerSecret, decodeStoredBytes, decoyCredential } from '../decoy.ts';
import { decodeUtf8Strict, encodeBase64 } from '../encoding.ts';
import { guardedExchange } from '../guard.ts';
import { authorizedSuccess } from '../identity.ts';
import type { ChannelBindingType, SaslContext, SaslExchange, SaslFailureCondition, SaslStep } from '../types.ts';
import { parseClientFinal, parseClientFirst, type ClientFirst } from './messages.ts';

export type ScramVariant = { hash: ScramHash; plus: boolean };

// Generous for any real username, nonce and channel binding; bounds work per message.
const MAX_MESSAGE_BYTES = 4096;
const SERVER_NONCE_BYTES = 24;
const NONCE_CHARS = /^[\x21-\x2B\x2D-\x7E]+$/;

export const SUPPORTED_CHANNEL_BINDINGS: readonly ChannelBindingType[] = ['tls-exporter', 'tls-server-end-point', 'tls-unique'];

const encoder = new TextEncoder();

function failure(condition: SaslFailureCondition, text?: string): SaslStep {
  return text === undefined ? { kind: 'failure', condition } : { kind: 'failure', condition, text };
}

function defaultNonce(): string {
  return randomBytes(SERVER_NONCE_BYTES).toString('base64');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

type AwaitingFinal = {
  authcid: string;
  authzid?: string;
  /** gs2 header bytes followed by the channel binding data: what c= must carry. */
  expectedCbindInput: Uint8Array;
  combinedNonce: string;
  clientFirstBare: string;
  serverFirst: string;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
  known: boolean;
};

// Decides whether the gs2 channel binding flag fits the mechanism and the connection, and
// returns the binding data c= must include (empty for "n" and "y").
function checkChannelBinding(variant: ScramVariant, ctx: SaslContext, first: ClientFirst): Uint8Array | SaslStep {
  const { cbind } = first;
  if (!variant.plus) {
    if (cbind.flag === 'p') return failure('malformed-request', 'channel binding requested with a non-PLUS mechanism');
    if (cbind.flag === 'y' && (ctx.offeredMechanisms ?? []).some((m) => m.endsWith('-PLUS'))) {
      // RFC 5802 §6: the client would have used -PLUS had it seen one; someone removed it.
      return failure('not-authorized', 'channel binding downgrade detected');
    }
    return new Uint8Array(0);
  }
  if (cbind.flag !== 'p') return failure('malformed-request', 'a -PLUS mechanism requires p=');
  if (ctx.channelBinding === undefined) return failure('encryption-required');
  const type = cbind.name as ChannelBindingType;
  const data = SUPPORTED_CHANNEL_BINDINGS.includes(type) ? ctx.channelBinding[type] : undefined;
  if (data === undefined) return failure('not-authorized', `unsupported channel binding type ${cbind.name}`);
  return data;
}

async function handleClientFirst(variant: ScramVariant, ctx: SaslContext, bytes: Uint8Array): Promise<AwaitingFinal | SaslStep> {
  if (bytes.length > MAX_MESSAGE_BYTES) return failure('malformed-request', 'message too long');
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) return failure('malformed-request', 'invalid UTF-8');
  const first = parseClientFirst(text);
  if (!first.ok) return failure(first.condition, first.text);

  const cbData = checkChannelBinding(variant, ctx, first);
  if (!(cbData instanceof Uint8Array)) return cbData;

  const authcid = prepareSaslString(first.username);
  if (authcid === undefined) return failure('not-authorized');

  let stored;
  try {
    stored = (await ctx.lookupCredentials(authcid))?.[variant.hash];
  } catch {
    return failure('temporary-auth-failure');
  }
  const known = stored !== undefined;
  const cred = stored ?? decoyCredential(ctx.serverSecret, variant.hash, authcid, ctx.decoyIterations);

  const serverNonce = (ctx.generateNonce ?? defaultNonce)();
  if (!NONCE_CHARS.test(serverNonce)) throw new Error('generateNonce returned characters a SCRAM nonce cannot carry');
  const combinedNonce = first.clientNonce + serverNonce;
  const serverFirst = `r=${combinedNonce},s=${cred.salt},i=${cred.iterations}`;

  const state: AwaitingFinal = {
    authcid,
    expectedCbindInput: concat(encoder.encode(first.gs2Header), cbData),
    combinedNonce,
    clientFirstBare: first.bare,
    serverFirst,
    storedKey: decodeStoredBytes(cred.storedKey),
    serverKey: decodeStoredBytes(cred.serverKey),
    known,
  };
  if (first.authzid !== undefined) state.authzid = first.authzid;
  return state;
}

async function handleClientFinal(variant: ScramVariant, ctx: SaslContext, state: AwaitingFinal, bytes: Uint8Array): Promise<SaslStep> {
  if (bytes.length > MAX_MESSAGE_BYTES) return failure('malformed-request', 'message too long');
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) return failure('malformed-request', 'invalid UTF-8');
  const final = parseClientFinal(text);
  if (!final.ok) return failure(final.condition, final.text);

  if (final.nonce !== state.combinedNonce) return failure('not-authorized', 'nonce mismatch');
  if (!constantTimeEqual(final.channelBinding, state.expectedCbindInput)) {
    return failure('not-authorized', 'channel binding mismatch');
  }
  if (final.proof.length !== hashOutputLength(variant.hash)) return failure('malformed-request', 'proof has the wrong length');

  const authMessage = `${state.clientFirstBare},${state.serverFirst},${final.withoutProof}`;
  const clientSignature = hmac(variant.hash, state.storedKey, authMessage);
  const clientKey = final.proof.map((b, i) => b ^ clientSignature[i]!);
  const proofMatches = constantTimeEqual(digest(variant.hash, clientKey), state.storedKey);
  // `known` is checked after the comparison so decoy accounts take the same path.
  if (!proofMatches || !state.known) return failure('not-authorized');

  const serverSignature = hmac(variant.hash, state.serverKey, authMessage);
  const data = encoder.encode(`v=${encodeBase64(serverSignature)}`);
  return authorizedSuccess(ctx, state.authcid, state.authzid, data);
}

export function startScramExchange(variant: ScramVariant, ctx: SaslContext): SaslExchange {
  checkServerSecret(ctx.serverSecret);
  let phase: 'start' | 'awaiting-first' | AwaitingFinal = 'start';
  return guardedExchange(async (input) => {
    if (phase === 'start' && input === null) {
      phase = 'awaiting-first';
      return { kind: 'challenge', data: new Uint8Array(0) };
    }
    if (input === null) return failure('malformed-request', 'expected a message');
    if (phase === 'start' || phase === 'awaiting-first') {
      const next = await handleClientFirst(variant, ctx, input);
      if ('kind' in next) return next;
      phase = next;
      return { kind: 'challenge', data: encoder.encode(next.serverFirst) };
    }
    return handleClientFinal(variant, ctx, phase, input);
  });
}
