// SIP messages (RFC 3261 §7): a strict parser and a serializer.
//
// The parser accepts one message from bytes (a UDP datagram, or one frame cut by
// ./framing.ts) and either returns it or says why it is malformed. It never throws on input
// and never recurses. What "strict" means here:
//   - start line: METHOD SP Request-URI SP SIP/2.0, or SIP/2.0 SP 3DIGIT SP reason;
//   - header names are tokens; folded lines (RFC 3261 §7.3.1) are unfolded;
//   - exactly one From, To, Call-ID, CSeq (compact forms counted with their long names),
//     at least one Via, a CSeq whose method matches the request's, numbers in range;
//   - Content-Length is honoured: a body shorter than it is malformed, bytes past it are
//     ignored (RFC 3261 §18.3 for datagrams);
//   - bounded sizes: message bytes, header count, header line length.
// A request that fails after its headers were read still carries them in `partial`, so the
// caller can answer 400 (RFC 4475 expects an answer, not silence, where one can be built).

import { LIMITS, isToken, isCallId, parseIntIn } from './grammar.ts';

export interface SipHeader {
  /** Lower-case long name (compact forms expanded). */
  readonly name: string;
  readonly value: string;
}

interface SipBase {
  headers: SipHeader[];
  body: string;
}

export interface SipRequest extends SipBase {
  readonly kind: 'request';
  method: string;
  uri: string;
}

export interface SipResponse extends SipBase {
  readonly kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export type ParseResult =
  | { ok: true; message: SipMessage }
  | { ok: false; error: string; status: 400 | 413 | 416 | 505; partial?: SipRequest };

const COMPACT: Record<string, string> = {
  i: 'call-id', f: 'from', t: 'to', v: 'via', m: 'contact', l: 'content-length', c: 'content-type',
  e: 'content-encoding', k: 'supported', s: 'subject', o: 'event', r: 'refer-to', u: 'allow-events',
};
const SINGLE = ['from', 'to', 'call-id', 'cseq'] as const;
const CRLF2 = [13, 10, 13, 10];

const utf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Index of the blank line ending the header section, or -1. */
export function headerEnd(bytes: Uint8Array, from = 0): number {
  outer: for (let i = from; i + 3 < bytes.length; i++) {
    for (let k = 0; k < 4; k++) if (bytes[i + k] !== CRLF2[k]) continue outer;
    return i;
  }
  return -1;
}

export function parseMessage(bytes: Uint8Array): ParseResult {
  if (bytes.length > LIMITS.maxMessageBytes) return { ok: false, error: 'message too large', status: 413 };
  const end = headerEnd(bytes);
  if (end < 0) return { ok: false, error: 'no end of headers', status: 400 };
  const head = utf8.decode(bytes.subarray(0, end));
  const lines = head.split('\r\n');
  const startLine = lines[0] ?? '';
  if (/[\x00\r\n]/.test(head.replaceAll('\r\n', ''))) return { ok: false, error: 'control character in headers', status: 400 };

  const headers: SipHeader[] = [];
  let current: string | undefined;
  const flush = (): string | undefined => {
    if (current === undefined) return undefined;
    const colon = current.indexOf(':');
    if (colon <= 0) return 'header line without a colon';
    const rawName = current.slice(0, colon).replace(/[ \t]+$/, '');
    if (!isToken(rawName)) return `bad header name ${JSON.stringify(rawName.slice(0, 40))}`;
    const lower = rawName.toLowerCase();
    const name = COMPACT[lower] ?? lower;
    headers.push({ name, value: current.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '') });
    current = undefined;
    return undefined;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length > LIMITS.maxHeaderLineBytes) return { ok: false, error: 'header line too long', status: 400 };
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === undefined) return { ok: false, error: 'continuation line before any header', status: 400 };
      current += ' ' + line.trim();
      if (current.length > LIMITS.maxHeaderLineBytes) return { ok: false, error: 'header too long', status: 400 };
      continue;
    }
    const err = flush();
    if (err) return { ok: false, error: err, status: 400 };
    current = line;
    if (headers.length >= LIMITS.maxHeaderCount) return { ok: false, error: 'too many headers', status: 400 };
  }
  const err = flush();
  if (err) return { ok: false, error: err, status: 400 };

  const start = parseStartLine(startLine);
  if ('error' in start) return { ok: false, error: start.error, status: start.status };
  const message: SipMessage = start.kind === 'request'
    ? { kind: 'request', method: start.method, uri: start.uri, headers, body: '' }
    : { kind: 'response', status: start.status, reason: start.reason, headers, body: '' };
  const fail = (error: string, status: 400 | 416 = 400): ParseResult =>
    ({ ok: false, error, status, partial: message.kind === 'request' ? message : undefined });

  for (const name of SINGLE) {
    const n = headers.filter((h) => h.name === name).length;
    if (n !== 1) return fail(n === 0 ? `missing ${name}` : `${n} ${name} headers`);
  }
  if (!headers.some((h) => h.name === 'via')) return fail('missing via');
  const cseq = parseCSeq(getHeader(message, 'cseq')!);
  if (!cseq) return fail('malformed cseq');
  if (message.kind === 'request' && cseq.method !== message.method) return fail('cseq method does not match the request');
  if (!isCallId(getHeader(message, 'call-id')!)) return fail('malformed call-id');
  for (const name of ['from', 'to'] as const) {
    if (!parseNameAddr(getHeader(message, name)!)) return fail(`malformed ${name}`);
  }
  const mf = getHeader(message, 'max-forwards');
  if (mf !== undefined && parseIntIn(mf, 0, 255) === undefined) return fail('malformed max-forwards');
  const cls = getHeaders(message, 'content-length');
  if (cls.length > 1 && new Set(cls).size > 1) return fail('conflicting content-length');
  let bodyBytes = bytes.subarray(end + 4);
  if (cls.length > 0) {
    const cl = parseIntIn(cls[0], 0, LIMITS.maxMessageBytes);
    if (cl === undefined) return fail('malformed content-length');
    if (cl > bodyBytes.length) return fail('body shorter than content-length');
    bodyBytes = bodyBytes.subarray(0, cl);
  }
  if (message.kind === 'request') {
    const vias = getVias(message);
    if (vias.length === 0 || vias.some((v) => v === undefined)) return fail('malformed via');
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(message.uri)?.[1]?.toLowerCase();
    if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return fail('unsupported uri scheme', 416);
    if (scheme !== 'tel' && !parseUri(message.uri)) return fail('malformed request-uri');
  }
  message.body = utf8.decode(bodyBytes);
  return { ok: true, message };
}

type StartLine =
  | { kind: 'request'; method: string; uri: string }
  | { kind: 'response'; status: number; reason: string }
  | { error: string; status: 400 | 505 };

function parseStartLine(line: string): StartLine {
  if (line.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d) ([^\r\n]*)$/.exec(line);
    if (!m) return { error: 'malformed status line', status: 400 };
    return { kind: 'response', status: Number(m[1]), reason: m[2]! };
  }
  const parts = line.split(' ');
  if (parts.length !== 3) return { error: 'malformed request line', status: 400 };
  const [method, uri, version] = parts as [string, string, string];
  if (!isToken(method) || uri === '' || /[<>"]/.test(uri)) return { error: 'malformed request line', status: 400 };
  if (version !== 'SIP/2.0') return { error: 'unsupported SIP version', status: /^SIP\/\d+\.\d+$/.test(version) ? 505 : 400 };
  return { kind: 'request', method, uri };
}

export function getHeader(msg: SipMessage, name: string): string | undefined {
  for (const h of msg.headers) if (h.name === name) return h.value;
  return undefined;
}

export function getHeaders(msg: SipMessage, name: string): string[] {
  const out: string[] = [];
  for (const h of msg.headers) if (h.name === name) out.push(h.value);
  return out;
}

/** Splits a header value at commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let startAt = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(value.slice(startAt, i).trim());
      startAt = i + 1;
    }
  }
  out.push(value.slice(startAt).trim());
  return out.filter((s) => s !== '');
}

export interface CSeq { seq: number; method: string }

export function parseCSeq(value: string): CSeq | undefined {
  const m = /^(\d{1,10})[ \t]+([^ \t]+)$/.exec(value);
  if (!m || !isToken(m[2]!)) return undefined;
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) return undefined;
  return { seq, method: m[2]! };
}

export interface Via {
  transport: string;
  host: string;
  port: number | undefined;
  params: Map<string, string>;
}

export function parseVia(value: string): Via | undefined {
  const m = /^SIP[ \t]*\/[ \t]*2\.0[ \t]*\/[ \t]*([A-Za-z]+)[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:[ \t]*:[ \t]*(\d{1,5}))?[ \t]*((?:;[^;]*)*)$/.exec(value);
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : parseIntIn(m[3], 1, 65_535);
  if (m[3] !== undefined && port === undefined) return undefined;
  const params = parseParams(m[4]!);
  if (!params) return undefined;
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port, params };
}

export function getVias(msg: SipMessage): Array<Via | undefined> {
  return getHeaders(msg, 'via').flatMap(splitList).map(parseVia);
}

function parseParams(text: string): Map<string, string> | undefined {
  const params = new Map<string, string>();
  if (text.trim() === '') return params;
  const parts = text.split(';').slice(1);
  if (parts.length > 32) return undefined;
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!isToken(key)) return undefined;
    params.set(key, value.replace(/^"(.*)"$/, '$1'));
  }
  return params;
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  host: string;
  port: number | undefined;
  params: Map<string, string>;
}

export function parseUri(text: string): SipUri | undefined {
  const m = /^(sips?):(?:([^@;?]*)(?::[^@;?]*)?@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?((?:;[^;?]*)*)(?:\?.*)?$/i.exec(text);
  if (!m) return undefined;
  const port = m[4] === undefined ? undefined : parseIntIn(m[4], 1, 65_535);
  if (m[4] !== undefined && port === undefined) return undefined;
  const params = parseParams(m[5]!);
  if (!params) return undefined;
  let user: string | undefined;
  try {
    user = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  } catch {
    return undefined;
  }
  return { scheme: m[1]!.toLowerCase() as 'sip' | 'sips', user, host: m[3]!.toLowerCase(), port, params };
}

export interface NameAddr {
  display: string | undefined;
  uri: string;
  params: Map<string, string>;
}

/** From/To/Contact: `"Name" <uri>;params` or `uri;params` (RFC 3261 §20.10, §20.20). */
export function parseNameAddr(value: string): NameAddr | undefined {
  let rest = value.trim();
  let display: string | undefined;
  let uri: string;
  if (rest.startsWith('"')) {
    let i = 1;
    for (; i < rest.length && rest[i] !== '"'; i++) if (rest[i] === '\\') i++;
    if (i >= rest.length) return undefined;
    display = rest.slice(1, i);
    rest = rest.slice(i + 1).trimStart();
    if (!rest.startsWith('<')) return undefined;
  }
  const lt = rest.indexOf('<');
  if (lt >= 0) {
    const gt = rest.indexOf('>', lt);
    if (gt < 0) return undefined;
    if (display === undefined && lt > 0) display = rest.slice(0, lt).trim() || undefined;
    uri = rest.slice(lt + 1, gt).trim();
    rest = rest.slice(gt + 1);
  } else {
    // Without brackets, parameters belong to the header, not the URI (§20.10).
    const semi = rest.indexOf(';');
    uri = semi < 0 ? rest : rest.slice(0, semi);
    rest = semi < 0 ? '' : rest.slice(semi);
    if (/[ \t,?]/.test(uri)) return undefined;
  }
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(uri)) return undefined;
  const params = parseParams(rest);
  if (!params) return undefined;
  return { display, uri, params };
}

/** Writes a message. Content-Length is computed here; a header value with CR/LF is a bug: throws. */
export function serializeMessage(msg: SipMessage): string {
  const startLine = msg.kind === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`;
  if (/[\r\n\0]/.test(startLine)) throw new Error('control character in SIP start line');
  let out = startLine + '\r\n';
  for (const h of msg.headers) {
    if (h.name === 'content-length') continue;
    if (!isToken(h.name) || /[\r\n\0]/.test(h.value)) throw new Error(`refusing to write header ${h.name}: control character`);
    out += `${canonicalName(h.name)}: ${h.value}\r\n`;
  }
  out += `Content-Length: ${encoder.encode(msg.body).length}\r\n\r\n` + msg.body;
  return out;
}

const CANONICAL: Record<string, string> = { 'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate' };

function canonicalName(name: string): string {
  return CANONICAL[name] ?? name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** The response to a request: Via, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6.2). */
export function responseTo(req: SipRequest, status: number, reason: string, toTag?: string): SipResponse {
  const headers: SipHeader[] = [];
  const copied = new Set<string>();
  for (const h of req.headers) {
    if (h.name === 'via') headers.push(h);
    else if (copied.has(h.name)) continue; // a malformed request may repeat them; answer with the first
    else if (h.name === 'from' || h.name === 'call-id' || h.name === 'cseq') {
      copied.add(h.name);
      headers.push(h);
    } else if (h.name === 'to') {
      copied.add(h.name);
      const hasTag = parseNameAddr(h.value)?.params.has('tag') ?? false;
      headers.push(toTag !== undefined && !hasTag ? { name: 'to', value: `${h.value};tag=${toTag}` } : h);
    }
  }
  return { kind: 'response', status, reason, headers, body: '' };
}
