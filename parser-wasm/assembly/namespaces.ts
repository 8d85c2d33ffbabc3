// Namespace scopes, the per-unit URI table, the stream header block, and the checks run
// when a start tag ends: declarations, prefix resolution, duplicate attributes.

import {
  S_SCOPE, S_URIS, S_AUX, S_HEADER, S_REC, V_PTR, V_LEN,
  REC_I32, R_KIND, RE_NAME_OFF, RE_NAME, RE_NS, RA_NAME_OFF, RA_NAME, RA_NS, RA_VALUE_OFF,
  RA_VALUE_LEN, RA_FLAGS, RA_HASH, FLAG_DECODE,
  NS_NONE, NS_XML, NS_XMLNS, NS_UNIT_BASE, NS_HEADER_BASE, URI_I32, URI_RAW, URI_AUX,
  HB_NAME_LEN, HB_DECL_COUNT, HB_DECLS, HB_DECL_I32,
  ERR_NOT_WELL_FORMED, ERR_BAD_NAMESPACE_PREFIX,
  WHY_BAD_NAMESPACE_DECLARATION, WHY_UNDECLARED_PREFIX, WHY_DUPLICATE_ATTRIBUTE, WHY_BAD_NAME,
} from '../shared/constants';
import { get, set, vecReserve } from './memory';

const SCOPE_I32 = 4; // [prefixOff, prefixLen, uriRef, depth]

function staticBytes(text: string): usize {
  const p = heap.alloc(<usize>text.length);
  for (let i = 0; i < text.length; i++) store<u8>(p + <usize>i, <u8>text.charCodeAt(i));
  return p;
}
const XML_URI = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_URI = 'http://www.w3.org/2000/xmlns/';
const XML_URI_PTR = staticBytes(XML_URI);
const XMLNS_URI_PTR = staticBytes(XMLNS_URI);
const XML_PTR = staticBytes('xml');
const XMLNS_PTR = staticBytes('xmlns');

/** Failure details for the caller (window-relative position). */
export let failCode: i32 = 0;
export let failWhy: i32 = 0;
export let failPos: i32 = 0;
function fail(code: i32, why: i32, pos: i32): bool {
  failCode = code;
  failWhy = why;
  failPos = pos;
  return false;
}

// @ts-ignore: decorator
@inline function recAt(s: usize, index: i32): usize {
  return <usize>get(s, S_REC + V_PTR) + (<usize>index << 5);
}

export function bytesEqual(a: usize, b: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  return true;
}

/** Result of uriBytes(). */
export let uriPtr: usize = 0;
export let uriLen: i32 = 0;

/** Locates the bytes of a namespace URI reference. */
export function uriBytes(s: usize, unitBase: usize, ref: i32): void {
  if (ref == NS_NONE) { uriPtr = 0; uriLen = 0; return; }
  if (ref == NS_XML) { uriPtr = XML_URI_PTR; uriLen = XML_URI.length; return; }
  if (ref == NS_XMLNS) { uriPtr = XMLNS_URI_PTR; uriLen = XMLNS_URI.length; return; }
  if (ref >= NS_HEADER_BASE) {
    const hb = <usize>get(s, S_HEADER);
    const d = hb + (<usize>(HB_DECLS + (ref - NS_HEADER_BASE) * HB_DECL_I32) << 2);
    uriPtr = hb + <usize>load<i32>(d, 8);
    uriLen = load<i32>(d, 12);
    return;
  }
  const e = <usize>get(s, S_URIS + V_PTR) + (<usize>((ref - NS_UNIT_BASE) * URI_I32) << 2);
  const kind = load<i32>(e);
  uriPtr = (kind == URI_AUX ? <usize>get(s, S_AUX + V_PTR) : unitBase) + <usize>load<i32>(e, 4);
  uriLen = load<i32>(e, 8);
}

/** Looks a prefix up (len 0: the default namespace). Returns a reference or -1 if undeclared. */
export function lookupPrefix(s: usize, unitBase: usize, prefix: usize, len: i32): i32 {
  const scope = <usize>get(s, S_SCOPE + V_PTR);
  const count = get(s, S_SCOPE + V_LEN) >> 4;
  for (let i = count - 1; i >= 0; i--) {
    const e = scope + (<usize>(i * SCOPE_I32) << 2);
    if (load<i32>(e, 4) == len && bytesEqual(unitBase + <usize>load<i32>(e), prefix, len)) return load<i32>(e, 8);
  }
  const hb = <usize>get(s, S_HEADER);
  if (hb != 0) {
    const n = load<i32>(hb, HB_DECL_COUNT << 2);
    for (let i = n - 1; i >= 0; i--) {
      const d = hb + (<usize>(HB_DECLS + i * HB_DECL_I32) << 2);
      if (load<i32>(d, 4) == len && bytesEqual(hb + <usize>load<i32>(d), prefix, len)) return NS_HEADER_BASE + i;
    }
  }
  if (len == 0) return NS_NONE;
  if (len == 3 && bytesEqual(prefix, XML_PTR, 3)) return NS_XML;
  return -1;
}

/** Pops the scope entries declared at `depth` (called when that element ends). */
export function popScope(s: usize, depth: i32): void {
  const scope = <usize>get(s, S_SCOPE + V_PTR);
  let count = get(s, S_SCOPE + V_LEN) >> 4;
  while (count > 0 && load<i32>(scope + (<usize>((count - 1) * SCOPE_I32) << 2), 12) == depth) count--;
  set(s, S_SCOPE + V_LEN, count << 4);
}

/**
 * Decodes a validated attribute value (references, attribute-value normalization) into aux.
 * Returns the offset in aux; the decoded length is left in decodedLen.
 */
export let decodedLen: i32 = 0;
function decodeAttrValueToAux(s: usize, src: usize, n: i32): i32 {
  // Decoding never grows the byte count: references shrink, whitespace maps 1:1 or 2:1.
  const dst0 = vecReserve(s, S_AUX, n);
  const off = get(s, S_AUX + V_LEN);
  let d = dst0 + <usize>off;
  let i = 0;
  while (i < n) {
    const c = <i32>load<u8>(src + <usize>i);
    if (c == 0x26) {
      let j = i + 1;
      while (load<u8>(src + <usize>j) != 0x3b) j++;
      let cp = 0;
      const c1 = <i32>load<u8>(src + <usize>i + 1);
      if (c1 == 0x23) {
        const hex = load<u8>(src + <usize>i + 2) == 0x78;
        for (let k = i + (hex ? 3 : 2); k < j; k++) {
          const h = <i32>load<u8>(src + <usize>k);
          const v = h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x61 + 10;
          cp = hex ? (cp << 4) | v : cp * 10 + v;
        }
      } else if (c1 == 0x61) cp = load<u8>(src + <usize>i + 2) == 0x6d ? 0x26 : 0x27; // amp / apos
      else if (c1 == 0x6c) cp = 0x3c;
      else if (c1 == 0x67) cp = 0x3e;
      else cp = 0x22;
      if (cp < 0x80) { store<u8>(d++, <u8>cp); }
      else if (cp < 0x800) { store<u8>(d++, <u8>(0xc0 | (cp >> 6))); store<u8>(d++, <u8>(0x80 | (cp & 0x3f))); }
      else if (cp < 0x10000) {
        store<u8>(d++, <u8>(0xe0 | (cp >> 12))); store<u8>(d++, <u8>(0x80 | ((cp >> 6) & 0x3f)));
        store<u8>(d++, <u8>(0x80 | (cp & 0x3f)));
      } else {
        store<u8>(d++, <u8>(0xf0 | (cp >> 18))); store<u8>(d++, <u8>(0x80 | ((cp >> 12) & 0x3f)));
        store<u8>(d++, <u8>(0x80 | ((cp >> 6) & 0x3f))); store<u8>(d++, <u8>(0x80 | (cp & 0x3f)));
      }
      i = j + 1;
    } else if (c == 0x0d) {
      store<u8>(d++, 0x20);
      i += (i + 1 < n && load<u8>(src + <usize>i + 1) == 0x0a) ? 2 : 1;
    } else {
      store<u8>(d++, <u8>(c == 0x09 || c == 0x0a ? 0x20 : c));
      i++;
    }
  }
  decodedLen = <i32>(d - dst0) - off;
  set(s, S_AUX + V_LEN, off + decodedLen);
  return off;
}

/** Adds a URI table entry for a declaration's value; returns its reference. */
function addUri(s: usize, unitBase: usize, valueOff: i32, valueLen: i32, flags: i32, declOff: i32): i32 {
  let kind = URI_RAW;
  let off = valueOff;
  let len = valueLen;
  if ((flags & FLAG_DECODE) != 0) {
    kind = URI_AUX;
    off = decodeAttrValueToAux(s, unitBase + <usize>valueOff, valueLen);
    len = decodedLen;
  }
  if (len == 0) return NS_NONE;
  const e = vecReserve(s, S_URIS, URI_I32 << 2) + <usize>get(s, S_URIS + V_LEN);
  store<i32>(e, kind);
  store<i32>(e, off, 4);
  store<i32>(e, len, 8);
  store<i32>(e, declOff, 12);
  const index = get(s, S_URIS + V_LEN) >> 4;
  set(s, S_URIS + V_LEN, (index + 1) << 4);
  return NS_UNIT_BASE + index;
}

function pushScope(s: usize, prefixOff: i32, prefixLen: i32, ref: i32, depth: i32): void {
  const e = vecReserve(s, S_SCOPE, SCOPE_I32 << 2) + <usize>get(s, S_SCOPE + V_LEN);
  store<i32>(e, prefixOff);
  store<i32>(e, prefixLen, 4);
  store<i32>(e, ref, 8);
  store<i32>(e, depth, 12);
  set(s, S_SCOPE + V_LEN, get(s, S_SCOPE + V_LEN) + (SCOPE_I32 << 2));
}

function isUri(ref: i32, ptr: usize, len: i32): bool {
  return len == uriLen && bytesEqual(ptr, uriPtr, len);
}

/**
 * Runs when a start tag is complete: records declarations, resolves the element's and the
 * attributes' prefixes, rejects duplicate attributes (also after resolution).
 * `unitStartPos` converts record offsets to window positions for error reporting.
 */
export function finishStartTag(s: usize, unitBase: usize, unitStartPos: i32, elem: i32, attrCount: i32, depth: i32): bool {
  // 1. declarations
  for (let a = 1; a <= attrCount; a++) {
    const r = recAt(s, elem + a);
    const nameOff = load<i32>(r, RA_NAME_OFF << 2);
    const packed = load<i32>(r, RA_NAME << 2);
    const nameLen = packed & 0xffff;
    const prefixLen = packed >>> 16;
    const name = unitBase + <usize>nameOff;
    const isDefault = prefixLen == 0 && nameLen == 5 && bytesEqual(name, XMLNS_PTR, 5);
    const isPrefixed = prefixLen == 5 && bytesEqual(name, XMLNS_PTR, 5);
    if (!isDefault && !isPrefixed) continue;
    store<i32>(r, NS_XMLNS, RA_NS << 2);
    const ref = addUri(s, unitBase, load<i32>(r, RA_VALUE_OFF << 2), load<i32>(r, RA_VALUE_LEN << 2), load<i32>(r, RA_FLAGS << 2), nameOff);
    uriBytes(s, unitBase, ref);
    const isXmlUri = uriLen == XML_URI.length && bytesEqual(uriPtr, XML_URI_PTR, uriLen);
    const isXmlnsUri = uriLen == XMLNS_URI.length && bytesEqual(uriPtr, XMLNS_URI_PTR, uriLen);
    const errPos = unitStartPos + nameOff;
    if (isDefault) {
      if (isXmlUri || isXmlnsUri) return fail(ERR_NOT_WELL_FORMED, WHY_BAD_NAMESPACE_DECLARATION, errPos);
      pushScope(s, nameOff, 0, ref, depth);
    } else {
      const localOff = nameOff + 6;
      const localLen = nameLen - 6;
      const local = unitBase + <usize>localOff;
      if (localLen == 5 && bytesEqual(local, XMLNS_PTR, 5)) return fail(ERR_NOT_WELL_FORMED, WHY_BAD_NAMESPACE_DECLARATION, errPos);
      if (localLen == 3 && bytesEqual(local, XML_PTR, 3)) {
        if (!isXmlUri) return fail(ERR_NOT_WELL_FORMED, WHY_BAD_NAMESPACE_DECLARATION, errPos);
        continue; // re-declaring xml to its own URI is allowed and changes nothing
      }
      if (ref == NS_NONE || isXmlUri || isXmlnsUri) return fail(ERR_NOT_WELL_FORMED, WHY_BAD_NAMESPACE_DECLARATION, errPos);
      pushScope(s, localOff, localLen, ref, depth);
    }
  }
  // 2. the element's own name
  const er = recAt(s, elem);
  const eNameOff = load<i32>(er, RE_NAME_OFF << 2);
  const ePrefixLen = load<i32>(er, RE_NAME << 2) >>> 16;
  const eName = unitBase + <usize>eNameOff;
  if (ePrefixLen == 5 && bytesEqual(eName, XMLNS_PTR, 5)) return fail(ERR_NOT_WELL_FORMED, WHY_BAD_NAME, unitStartPos + eNameOff);
  const eRef = lookupPrefix(s, unitBase, eName, ePrefixLen);
  if (eRef < 0) return fail(ERR_BAD_NAMESPACE_PREFIX, WHY_UNDECLARED_PREFIX, unitStartPos + eNameOff);
  store<i32>(er, eRef, RE_NS << 2);
  // 3. attribute prefixes
  for (let a = 1; a <= attrCount; a++) {
    const r = recAt(s, elem + a);
    if (load<i32>(r, RA_NS << 2) == NS_XMLNS) continue;
    const prefixLen = load<i32>(r, RA_NAME << 2) >>> 16;
    if (prefixLen == 0) continue; // unprefixed attributes are in no namespace
    const nameOff = load<i32>(r, RA_NAME_OFF << 2);
    const ref = lookupPrefix(s, unitBase, unitBase + <usize>nameOff, prefixLen);
    if (ref < 0) return fail(ERR_BAD_NAMESPACE_PREFIX, WHY_UNDECLARED_PREFIX, unitStartPos + nameOff);
    store<i32>(r, ref, RA_NS << 2);
  }
  // 4. duplicates: same local name and same namespace URI (hash first, bytes to confirm)
  for (let b = 2; b <= attrCount; b++) {
    const rb = recAt(s, elem + b);
    const hb = load<i32>(rb, RA_HASH << 2);
    const pb = load<i32>(rb, RA_NAME << 2);
    const bPrefix = pb >>> 16;
    const bLocalOff = load<i32>(rb, RA_NAME_OFF << 2) + (bPrefix > 0 ? bPrefix + 1 : 0);
    const bLocalLen = (pb & 0xffff) - (bPrefix > 0 ? bPrefix + 1 : 0);
    const bRef = load<i32>(rb, RA_NS << 2);
    for (let a = 1; a < b; a++) {
      const ra = recAt(s, elem + a);
      if (load<i32>(ra, RA_HASH << 2) != hb) continue;
      const pa = load<i32>(ra, RA_NAME << 2);
      const aPrefix = pa >>> 16;
      const aLocalLen = (pa & 0xffff) - (aPrefix > 0 ? aPrefix + 1 : 0);
      if (aLocalLen != bLocalLen) continue;
      const aLocalOff = load<i32>(ra, RA_NAME_OFF << 2) + (aPrefix > 0 ? aPrefix + 1 : 0);
      if (!bytesEqual(unitBase + <usize>aLocalOff, unitBase + <usize>bLocalOff, bLocalLen)) continue;
      const aRef = load<i32>(ra, RA_NS << 2);
      let same = aRef == bRef;
      if (!same) {
        uriBytes(s, unitBase, aRef);
        const ap = uriPtr;
        const al = uriLen;
        uriBytes(s, unitBase, bRef);
        same = isUri(bRef, ap, al);
      }
      if (same) return fail(ERR_NOT_WELL_FORMED, WHY_DUPLICATE_ATTRIBUTE, unitStartPos + load<i32>(rb, RA_NAME_OFF << 2));
    }
  }
  return true;
}

/**
 * Copies the header's name and namespace declarations (the scope entries of depth 1) into
 * a block the stream keeps while it is open, so stanzas can resolve against them after
 * the header's bytes are gone.
 */
export function buildHeaderBlock(s: usize, unitBase: usize, elem: i32): void {
  const er = recAt(s, elem);
  const nameOff = load<i32>(er, RE_NAME_OFF << 2);
  const nameLen = load<i32>(er, RE_NAME << 2) & 0xffff;
  const scope = <usize>get(s, S_SCOPE + V_PTR);
  const count = get(s, S_SCOPE + V_LEN) >> 4;
  let bytes = nameLen;
  for (let i = 0; i < count; i++) {
    const e = scope + (<usize>(i * SCOPE_I32) << 2);
    uriBytes(s, unitBase, load<i32>(e, 8));
    bytes += load<i32>(e, 4) + uriLen;
  }
  const head = (HB_DECLS + count * HB_DECL_I32) << 2;
  const hb = heap.alloc(<usize>(head + bytes));
  store<i32>(hb, nameLen, HB_NAME_LEN << 2);
  store<i32>(hb, count, HB_DECL_COUNT << 2);
  let at = head;
  memory.copy(hb + <usize>at, unitBase + <usize>nameOff, <usize>nameLen);
  at += nameLen;
  for (let i = 0; i < count; i++) {
    const e = scope + (<usize>(i * SCOPE_I32) << 2);
    const d = hb + (<usize>(HB_DECLS + i * HB_DECL_I32) << 2);
    const pLen = load<i32>(e, 4);
    memory.copy(hb + <usize>at, unitBase + <usize>load<i32>(e), <usize>pLen);
    store<i32>(d, at);
    store<i32>(d, pLen, 4);
    at += pLen;
    uriBytes(s, unitBase, load<i32>(e, 8));
    memory.copy(hb + <usize>at, uriPtr, <usize>uriLen);
    store<i32>(d, at, 8);
    store<i32>(d, uriLen, 12);
    at += uriLen;
  }
  set(s, S_HEADER, <i32>hb);
}

/** Byte name of the header element (for matching `</stream:stream>`). */
export function headerNameMatches(s: usize, name: usize, len: i32): bool {
  const hb = <usize>get(s, S_HEADER);
  if (hb == 0) return false;
  const nameLen = load<i32>(hb, HB_NAME_LEN << 2);
  const count = load<i32>(hb, HB_DECL_COUNT << 2);
  return nameLen == len && bytesEqual(hb + <usize>((HB_DECLS + count * HB_DECL_I32) << 2), name, len);
}

export { R_KIND, REC_I32 };
