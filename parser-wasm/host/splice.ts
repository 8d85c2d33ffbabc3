// Forwarding a stanza as its original bytes with a few attributes replaced or added.
//
// The result is a list of parts: subarrays of the original bytes (zero-copy, valid during
// the callback) and one small new array holding the added attributes. Replaced attributes
// are cut out whole — preceding whitespace, name, quotes and value — so the output cannot
// carry both the old and the new value. Namespace declarations the element inherited from
// the stream header (or from an enclosing element in document mode) are added, as is the
// inherited xml:lang, so the bytes are well-formed and mean the same thing on their own.
//
// Stanza content namespaces: a stanza read on one kind of stream (jabber:client, or
// jabber:component:accept from a component) and written to another must be in the
// namespace of the stream it is written to (RFC 6120 §4.8.3, XEP-0114). With
// `contentNamespace`, an unprefixed stanza whose namespace is one of the content
// namespaces gets that namespace as its default declaration instead — replacing the
// declaration it inherited or carried on its own start tag. Its unprefixed descendants
// that inherited the old default move with it; those that declare their own keep theirs.

import * as C from '../shared/constants.ts';
import { escapeAttribute } from '../../server/xml/escape.ts';
import { inheritedLang, inheritedNamespaces } from './inherited.ts';
import { XML_NS, type UnitReader } from './unit.ts';

const encoder = new TextEncoder();
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;

/** The namespaces a stanza is in on client, server and component streams. */
export const CONTENT_NAMESPACES: ReadonlySet<string> = new Set(['jabber:client', 'jabber:server', 'jabber:component:accept']);

export interface SpliceOptions {
  /** The content namespace of the stream the bytes are written to (see the top of this file). */
  contentNamespace?: string;
}

interface Target {
  key: string;
  local: string;
  ns: string; // '' for unprefixed, XML_NS for xml:*
  value: string | undefined;
}

function parseKey(key: string, value: string | undefined): Target {
  if (PLAIN_NAME.test(key)) {
    if (key.startsWith('xmlns')) throw new TypeError(`spliceAttributes: cannot set namespace declaration '${key}'`);
    return { key, local: key, ns: '', value };
  }
  if (key.startsWith('xml:') && PLAIN_NAME.test(key.slice(4))) return { key, local: key.slice(4), ns: XML_NS, value };
  throw new TypeError(`spliceAttributes: '${key}' is not an attribute name this method can set`);
}

export function spliceAttributes(unit: UnitReader, elem: number, set: Record<string, string | undefined>, options: SpliceOptions = {}): Uint8Array[] {
  const targets: Target[] = [];
  for (const key of Object.keys(set)) targets.push(parseKey(key, set[key]));
  const newDefault = contentNamespaceChange(unit, elem, options.contentNamespace);

  const u8 = unit.instance.u8;
  const start = unit.base + unit.field(elem, C.RE_TAG_START);
  const tagEnd = unit.base + unit.field(elem, C.RE_TAG_END);
  const elemEnd = unit.base + unit.field(elem, C.RE_ELEM_END);
  const selfClosing = tagEnd === elemEnd;
  const insertAt = tagEnd - (selfClosing ? 2 : 1);
  const nameEnd = unit.base + unit.field(elem, C.RE_NAME_OFF) + (unit.field(elem, C.RE_NAME) & 0xffff);

  const parts: Uint8Array[] = [];
  let cursor = start;
  let prevEnd = nameEnd;
  let hasLang = false;
  const count = unit.attrCount(elem);
  for (let a = elem + 1; a <= elem + count; a++) {
    const valueOff = unit.base + unit.field(a, C.RA_VALUE_OFF);
    const attrEnd = valueOff + unit.field(a, C.RA_VALUE_LEN) + 1; // past the closing quote
    const prefixLen = unit.prefixLength(a, C.RA_NAME);
    const qname = unit.qname(a, C.RA_NAME_OFF, C.RA_NAME);
    const local = prefixLen === 0 ? qname : qname.slice(prefixLen + 1);
    const ns = prefixLen === 0 ? '' : unit.namespace(unit.field(a, C.RA_NS));
    if (ns === XML_NS && local === 'lang') hasLang = true;
    // Compared by expanded name, so an alias prefix cannot smuggle a second copy through.
    const replacedDefault = newDefault !== undefined && prefixLen === 0 && qname === 'xmlns';
    if (replacedDefault || targets.some((t) => t.local === local && t.ns === ns)) {
      if (prevEnd > cursor) parts.push(u8.subarray(cursor, prevEnd));
      cursor = attrEnd;
    }
    prevEnd = attrEnd;
  }
  if (insertAt > cursor) parts.push(u8.subarray(cursor, insertAt));

  let added = '';
  for (const t of targets) {
    if (t.value !== undefined) added += ` ${t.key}='${escapeAttribute(t.value)}'`;
    if (t.ns === XML_NS && t.local === 'lang') hasLang = true;
  }
  if (newDefault !== undefined) added += ` xmlns='${escapeAttribute(newDefault)}'`;
  for (const [prefix, uri] of inheritedNamespaces(unit, elem)) {
    if (prefix === '' && newDefault !== undefined) continue;
    added += ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}='${escapeAttribute(uri)}'`;
  }
  if (!hasLang) {
    const lang = inheritedLang(unit, elem);
    if (lang !== undefined) added += ` xml:lang='${escapeAttribute(lang)}'`;
  }
  if (added !== '') parts.push(encoder.encode(added));
  parts.push(u8.subarray(Math.max(insertAt, cursor), elemEnd));
  return parts;
}

/** The default namespace to declare instead of the stanza's own, or undefined to keep it. */
function contentNamespaceChange(unit: UnitReader, elem: number, target: string | undefined): string | undefined {
  if (target === undefined || unit.prefixLength(elem, C.RE_NAME) !== 0) return undefined;
  const own = unit.namespace(unit.field(elem, C.RE_NS));
  return own !== target && CONTENT_NAMESPACES.has(own) ? target : undefined;
}
