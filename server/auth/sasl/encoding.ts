// Strict decoders. Lenient ones (Buffer.from(s, 'base64') skips junk; TextDecoder
// without `fatal` substitutes U+FFFD) would let two different byte strings mean the same
// thing, and SCRAM signs exact bytes.

import { Buffer } from 'node:buffer';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 → string, or undefined for invalid UTF-8. A leading BOM is kept as data, not dropped. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * RFC 4648 base64 with padding, no whitespace, and canonical (zero) pad bits; undefined
 * otherwise. The empty string decodes to zero bytes.
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Non-zero bits in the last character's unused part encode the same bytes as the
  // canonical form; re-encoding exposes them.
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decode the text content of <auth/> or <response/> (RFC 6120 §6.4.2): empty content is
 * "no data" (null), a lone "=" is an empty response. For the stream layer's use.
 */
export function decodeSaslPayload(text: string): { ok: true; data: Uint8Array | null } | { ok: false; condition: 'incorrect-encoding' } {
  if (text === '') return { ok: true, data: null };
  if (text === '=') return { ok: true, data: new Uint8Array(0) };
  const data = decodeBase64Strict(text);
  return data === undefined ? { ok: false, condition: 'incorrect-encoding' } : { ok: true, data };
}

/** The inverse for <challenge/> and <success/>: "=" for empty data, nothing for no data. */
export function encodeSaslPayload(data: Uint8Array | undefined): string {
  if (data === undefined) return '';
  return data.length === 0 ? '=' : encodeBase64(data);
}
