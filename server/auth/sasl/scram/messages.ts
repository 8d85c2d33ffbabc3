// Parsers for the two client messages of SCRAM (RFC 5802 §7 grammar). They check syntax
// and attribute order only; what the values must equal is the exchange's business.
// Results carry the exact substrings SCRAM signs (gs2 header, client-first-message-bare,
// client-final-message-without-proof) so nothing is ever re-serialised.

import { decodeBase64Strict } from '../encoding.ts';
import type { SaslFailureCondition } from '../types.ts';

export type ParseFailure = { ok: false; condition: SaslFailureCondition; text: string };

export type ChannelBindingFlag = { flag: 'n' } | { flag: 'y' } | { flag: 'p'; name: string };

export type ClientFirst = {
  ok: true;
  cbind: ChannelBindingFlag;
  /** Exactly as sent, including both commas; part of the channel binding input. */
  gs2Header: string;
  authzid?: string;
  /** client-first-message-bare, verbatim. */
  bare: string;
  /** Decoded from saslname, not yet SASLprep'd. */
  username: string;
  clientNonce: string;
};

export type ClientFinal = {
  ok: true;
  channelBinding: Uint8Array;
  nonce: string;
  withoutProof: string;
  proof: Uint8Array;
};

// Attribute letters SCRAM itself defines; an "extension" may not reuse them.
const DEFINED_ATTRIBUTES = new Set(['a', 'c', 'e', 'i', 'm', 'n', 'p', 'r', 's', 'v']);

const GS2_HEADER = /^(?:(n|y)|p=([A-Za-z0-9.-]+)),(?:a=([^,]*))?,/;
const PRINTABLE = /^[\x21-\x2B\x2D-\x7E]+$/;
const EXTENSION = /^([A-Za-z])=[^,]+$/;

function fail(condition: SaslFailureCondition, text: string): ParseFailure {
  return { ok: false, condition, text };
}

/** saslname (RFC 5802 §7): "," is sent as "=2C" and "=" as "=3D"; any other "=" is an error. */
export function decodeSaslname(value: string): string | undefined {
  if (value.length === 0) return undefined;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === ',') return undefined;
    if (ch !== '=') {
      out += ch;
      continue;
    }
    const escape = value.slice(i + 1, i + 3);
    if (escape === '2C') out += ',';
    else if (escape === '3D') out += '=';
    else return undefined;
    i += 2;
  }
  return out;
}

function checkExtensions(attrs: readonly string[]): ParseFailure | undefined {
  for (const attr of attrs) {
    const m = EXTENSION.exec(attr);
    if (m === null) return fail('malformed-request', 'malformed attribute');
    if (m[1] === 'm') return fail('malformed-request', 'mandatory extensions are not supported');
    if (DEFINED_ATTRIBUTES.has(m[1]!)) return fail('malformed-request', `attribute ${m[1]} out of order`);
    // Unknown optional extensions are ignored (RFC 5802 §5).
  }
  return undefined;
}

export function parseClientFirst(message: string): ClientFirst | ParseFailure {
  if (message.includes('\0')) return fail('malformed-request', 'NUL in message');
  const header = GS2_HEADER.exec(message);
  if (header === null) return fail('malformed-request', 'malformed GS2 header');
  const gs2Header = header[0];
  const cbind: ChannelBindingFlag = header[1] === 'n' ? { flag: 'n' } : header[1] === 'y' ? { flag: 'y' } : { flag: 'p', name: header[2]! };

  let authzid: string | undefined;
  if (header[3] !== undefined) {
    authzid = decodeSaslname(header[3]);
    if (authzid === undefined) return fail('malformed-request', 'malformed authzid');
  }

  const bare = message.slice(gs2Header.length);
  const attrs = bare.split(',');
  if (attrs[0]!.startsWith('m=')) return fail('malformed-request', 'mandatory extensions are not supported');
  if (attrs.length < 2 || !attrs[0]!.startsWith('n=') || !attrs[1]!.startsWith('r=')) {
    return fail('malformed-request', 'expected n= then r=');
  }
  const username = decodeSaslname(attrs[0]!.slice(2));
  if (username === undefined) return fail('malformed-request', 'malformed username');
  const clientNonce = attrs[1]!.slice(2);
  if (!PRINTABLE.test(clientNonce)) return fail('malformed-request', 'malformed nonce');
  const extensionFailure = checkExtensions(attrs.slice(2));
  if (extensionFailure !== undefined) return extensionFailure;

  const result: ClientFirst = { ok: true, cbind, gs2Header, bare, username, clientNonce };
  if (authzid !== undefined) result.authzid = authzid;
  return result;
}

export function parseClientFinal(message: string): ClientFinal | ParseFailure {
  if (message.includes('\0')) return fail('malformed-request', 'NUL in message');
  const attrs = message.split(',');
  if (attrs.length < 3) return fail('malformed-request', 'expected c=, r= and p=');
  const [c, r] = attrs as [string, string];
  const p = attrs[attrs.length - 1]!;
  if (attrs.some((a) => a.startsWith('m='))) return fail('malformed-request', 'mandatory extensions are not supported');
  if (!c.startsWith('c=') || !r.startsWith('r=') || !p.startsWith('p=')) {
    return fail('malformed-request', 'expected c=, r=, extensions, p= in that order');
  }
  const nonce = r.slice(2);
  if (!PRINTABLE.test(nonce)) return fail('malformed-request', 'malformed nonce');
  const extensionFailure = checkExtensions(attrs.slice(2, -1));
  if (extensionFailure !== undefined) return extensionFailure;

  if (c.length === 2 || p.length === 2) return fail('malformed-request', 'empty attribute value');
  const channelBinding = decodeBase64Strict(c.slice(2));
  if (channelBinding === undefined) return fail('incorrect-encoding', 'channel binding is not valid base64');
  const proof = decodeBase64Strict(p.slice(2));
  if (proof === undefined) return fail('incorrect-encoding', 'proof is not valid base64');

  return { ok: true, channelBinding, nonce, withoutProof: attrs.slice(0, -1).join(','), proof };
}
