// Turning validated bytes into strings. The tokenizer has already checked UTF-8, the
// characters and every reference, so decoding here never needs to reject anything.

import { FLAG_CDATA, FLAG_DECODE, FLAG_NON_ASCII } from '../shared/constants.ts';
import { internedAscii } from './interned.ts';

const utf8 = new TextDecoder('utf-8');

/** Linear memory as the decoders read it (a TokenizerInstance). */
export interface MemoryText {
  readonly u8: Uint8Array;
  /** Bytes known to be ASCII, one character each. */
  ascii(start: number, end: number): string;
}

/** Up to this length a string of unknown bytes is checked for ASCII before decoding. */
const ASCII_PROBE_LENGTH = 64;

/** ASCII bytes [start, end) as a string: a constant for common words, else one native copy. */
export function asciiString(mem: MemoryText, start: number, end: number): string {
  return internedAscii(mem.u8, start, end - start) ?? mem.ascii(start, end);
}

/** Decodes bytes [start, end). Short ASCII strings (names, ids, JIDs) skip TextDecoder. */
export function decodeUtf8(mem: MemoryText, start: number, end: number): string {
  const u8 = mem.u8;
  if (end - start <= ASCII_PROBE_LENGTH) {
    const word = internedAscii(u8, start, end - start);
    if (word !== undefined) return word;
    for (let i = start; i < end; i++) if (u8[i] >= 0x80) return utf8.decode(u8.subarray(start, end));
    return mem.ascii(start, end);
  }
  return utf8.decode(u8.subarray(start, end));
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function reference(body: string): string {
  if (body.charCodeAt(0) === 0x23) {
    const hex = body.charCodeAt(1) === 0x78;
    return String.fromCodePoint(parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10));
  }
  return PREDEFINED[body];
}

/**
 * Attribute value as XML 1.0 §3.3.3 defines it for CDATA attributes: references replaced,
 * each literal TAB/LF/CR (a CR LF pair counting once) becomes a space; characters that
 * come from references are kept as they are.
 */
export function decodeAttributeValue(mem: MemoryText, start: number, end: number, flags: number): string {
  // The common case: the tokenizer saw neither a byte >= 0x80 nor anything to replace.
  if (flags === 0) return asciiString(mem, start, end);
  const raw = (flags & FLAG_NON_ASCII) === 0 ? mem.ascii(start, end) : utf8.decode(mem.u8.subarray(start, end));
  if ((flags & FLAG_DECODE) === 0) return raw;
  let out = '';
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x26) {
      const semi = raw.indexOf(';', i);
      out += raw.slice(last, i) + reference(raw.slice(i + 1, semi));
      i = semi;
      last = i + 1;
    } else if (c === 0x0d || c === 0x0a || c === 0x09) {
      out += raw.slice(last, i) + ' ';
      if (c === 0x0d && raw.charCodeAt(i + 1) === 0x0a) i++;
      last = i + 1;
    }
  }
  return out + raw.slice(last);
}

/** Character data: references replaced (not in CDATA), CR LF and lone CR become LF. */
export function decodeText(mem: MemoryText, start: number, end: number, flags: number): string {
  const raw = (flags & FLAG_NON_ASCII) === 0 ? mem.ascii(start, end) : utf8.decode(mem.u8.subarray(start, end));
  if ((flags & FLAG_DECODE) === 0) return raw;
  const cdata = (flags & FLAG_CDATA) !== 0;
  let out = '';
  let last = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x26 && !cdata) {
      const semi = raw.indexOf(';', i);
      out += raw.slice(last, i) + reference(raw.slice(i + 1, semi));
      i = semi;
      last = i + 1;
    } else if (c === 0x0d) {
      out += raw.slice(last, i) + '\n';
      if (raw.charCodeAt(i + 1) === 0x0a) i++;
      last = i + 1;
    }
  }
  return out + raw.slice(last);
}
