// Outgoing elements for the HTTP framings. On TCP a stanza inherits `jabber:client` and the
// `stream:` prefix from <stream:stream>; in a BOSH <body/> (default namespace httpbind) or a
// WebSocket frame (a document of its own) nothing is inherited, so each top-level element
// must carry its own declarations (XEP-0206 §3, RFC 7395 §3.4).
//
// The input is always text the server produced itself (serialized elements or the
// tokenizer-validated bytes of a forwarded stanza), never client input, so only the start
// tag is scanned, respecting quoted attribute values.

import { NS_CLIENT, NS_STREAM } from '../ns.ts';

const decoder = new TextDecoder();

/** Joins the parts of a forwarded stanza into text. */
export function outboundText(data: string | Uint8Array[]): string {
  if (typeof data === 'string') return data;
  if (data.length === 1) return decoder.decode(data[0]);
  let text = '';
  for (const part of data) text += decoder.decode(part, { stream: true });
  return text + decoder.decode();
}

/**
 * Adds `xmlns='jabber:client'` to an unprefixed top-level element without a default
 * namespace, and `xmlns:stream` to a `stream:`-prefixed one without that declaration.
 * `streamPrefixDeclared` is true inside a BOSH body, which declares it once.
 */
export function qualifyTopLevel(xml: string, streamPrefixDeclared: boolean): string {
  if (xml.charCodeAt(0) !== 0x3c /* < */) return xml;
  let nameEnd = 1;
  while (nameEnd < xml.length && !isNameEnd(xml.charCodeAt(nameEnd))) nameEnd++;
  const name = xml.slice(1, nameEnd);
  const colon = name.indexOf(':');
  let needed: string;
  let declaration: string;
  if (colon < 0) {
    needed = 'xmlns';
    declaration = ` xmlns='${NS_CLIENT}'`;
  } else if (name.slice(0, colon) === 'stream' && !streamPrefixDeclared) {
    needed = 'xmlns:stream';
    declaration = ` xmlns:stream='${NS_STREAM}'`;
  } else {
    return xml;
  }
  if (startTagDeclares(xml, nameEnd, needed)) return xml;
  return xml.slice(0, nameEnd) + declaration + xml.slice(nameEnd);
}

function isNameEnd(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x2f /* / */ || c === 0x3e /* > */;
}

/** Whether the start tag beginning at `from` has an attribute named exactly `attr`. */
function startTagDeclares(xml: string, from: number, attr: string): boolean {
  let i = from;
  while (i < xml.length) {
    const c = xml.charCodeAt(i);
    if (c === 0x3e || c === 0x2f) return false;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) { i++; continue; }
    const eq = xml.indexOf('=', i);
    if (eq < 0) return false;
    const attrName = xml.slice(i, eq).trim();
    if (attrName === attr) return true;
    let q = eq + 1;
    while (q < xml.length && xml.charCodeAt(q) !== 0x22 && xml.charCodeAt(q) !== 0x27) q++;
    const quote = xml[q];
    if (quote === undefined) return false;
    const close = xml.indexOf(quote, q + 1);
    if (close < 0) return false;
    i = close + 1;
  }
  return false;
}
