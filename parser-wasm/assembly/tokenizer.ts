// The resumable tokenizer. run() consumes the stream's window byte by byte (16 at a time
// through text, attribute values and CDATA) until an event or the end of the bytes fed.
// Every state can stop at any byte and continue at the next feed: positions live in the
// stream struct, and the bytes of the unit in progress stay in the window, so nothing is
// rescanned except at most the 3 bytes of a cut UTF-8 sequence or a `]]>` look-ahead.

import {
  MODE_STREAM, MODE_DOCUMENT, EV_NEED_MORE, EV_STREAM_OPEN, EV_ELEMENT, EV_STREAM_CLOSE, EV_ERROR,
  ERR_NONE, ERR_NOT_WELL_FORMED, ERR_RESTRICTED_XML, ERR_UNSUPPORTED_ENCODING, ERR_POLICY_VIOLATION,
  WHY_UNEXPECTED_BYTE, WHY_INVALID_UTF8, WHY_INVALID_CHAR, WHY_BAD_NAME, WHY_TAG_MISMATCH,
  WHY_BAD_REFERENCE, WHY_CDATA_END_IN_TEXT, WHY_TEXT_OUTSIDE_ELEMENT, WHY_MISSING_WHITESPACE,
  WHY_TRUNCATED, WHY_CONTENT_AFTER_CLOSE, WHY_DOCTYPE, WHY_COMMENT, WHY_PROCESSING_INSTRUCTION,
  WHY_ENTITY_REFERENCE, WHY_MARKUP_DECLARATION, WHY_UTF16,
  WHY_LIMIT_STANZA_BYTES, WHY_LIMIT_START_TAG_BYTES, WHY_LIMIT_ATTRIBUTES, WHY_LIMIT_DEPTH,
  WHY_LIMIT_ELEMENTS, WHY_LIMIT_NAME_LENGTH,
  LIMIT_STANZA_BYTES, LIMIT_START_TAG_BYTES, LIMIT_ATTRIBUTES, LIMIT_DEPTH, LIMIT_ELEMENTS, LIMIT_NAME_LENGTH,
  REC_ELEM, REC_ATTR, REC_TEXT, REC_END, RE_TAG_START, RE_TAG_END, RE_NAME_OFF, RE_NAME, RE_NS,
  RE_ELEM_END, RE_PARENT, RA_NAME_OFF, RA_NAME, RA_VALUE_OFF, RA_VALUE_LEN, RA_FLAGS, RA_HASH,
  RT_OFF, RT_LEN, RT_FLAGS, RN_OFF, RN_END, RN_ELEM, FLAG_DECODE, FLAG_CDATA, FLAG_NON_ASCII,
  S_STATE, S_MODE, S_POS, S_UNIT_START, S_UNIT_END, S_TOK_START, S_TEXT_START, S_TAG_START,
  S_LIMIT_POS, S_LIMIT_WHY, S_DEPTH, S_BASE_DEPTH, S_QUOTE, S_TEXT_FLAGS, S_COUNTER, S_ELEMS,
  S_ATTRS, S_CUR_ELEM, S_HAD_SPACE, S_ERR_CODE, S_ERR_WHY, S_PENDING, S_DECL_OK, S_HEADER,
  S_RETURN_STATE, S_UNIT_DEPTH, S_LIMITS, S_BUF, S_REC, S_SCOPE, S_URIS, S_AUX, V_PTR, V_LEN, V_CAP,
  S_ERR_OFFSET_BYTE,
} from '../shared/constants';
import { get, set, getBase, setBase, vecReserve, releaseAllVecs } from './memory';
import { cls, CC_NAME_START, CC_NAME, isSpace, utf8Decode, decodedCodePoint, isXmlChar, isNameStartCodePoint, isNameCodePoint } from './chars';
import { scanText, scanAttrValue, scanCdata } from './scan';
import { finishStartTag, failCode, failWhy, failPos, popScope, buildHeaderBlock, headerNameMatches, bytesEqual } from './namespaces';
import { checkXmlDeclaration, declWhy, declErrPos } from './decl';

const ST_DOC_START = 0;
const ST_PROLOG = 1;
const ST_CONTENT = 2;
const ST_LT = 3;
const ST_START_NAME = 4;
const ST_TAG_SPACE = 5;
const ST_TAG_SLASH = 6;
const ST_ATTR_NAME = 7;
const ST_ATTR_EQ = 8;
const ST_ATTR_QUOTE = 9;
const ST_ATTR_VALUE = 10;
const ST_ENTITY = 11;
const ST_END_NAME = 12;
const ST_END_SPACE = 13;
const ST_BANG = 14;
const ST_CDATA_OPEN = 15;
const ST_CDATA = 16;
const ST_PI = 17;
const ST_CLOSED = 18;
const ST_ERROR = 19;

const PENDING_NONE = 0;
const PENDING_END_UNIT = 1;
const PENDING_CLOSE_AFTER_OPEN = 2;

const NO_LIMIT: i32 = 0x7fffffff;

// @ts-ignore: decorator
@inline function byteAt(buf: usize, p: i32): i32 {
  return <i32>load<u8>(buf + <usize>p);
}

// @ts-ignore: decorator
@inline function limit(s: usize, which: i32): i32 {
  return get(s, S_LIMITS + which);
}

export function initState(s: usize): void {
  set(s, S_STATE, ST_DOC_START);
  set(s, S_POS, 0);
  set(s, S_UNIT_START, -1);
  set(s, S_UNIT_END, 0);
  set(s, S_TEXT_START, -1);
  set(s, S_LIMIT_POS, NO_LIMIT);
  set(s, S_LIMIT_WHY, 0);
  set(s, S_DEPTH, 0);
  set(s, S_BASE_DEPTH, 0);
  set(s, S_CUR_ELEM, -1);
  set(s, S_ERR_CODE, ERR_NONE);
  set(s, S_ERR_WHY, 0);
  set(s, S_PENDING, PENDING_NONE);
  set(s, S_DECL_OK, 1);
  setBase(s, 0);
}

/** Drops all per-stream memory except the struct itself. */
export function releaseStream(s: usize): void {
  const hb = get(s, S_HEADER);
  if (hb != 0) heap.free(<usize>hb);
  set(s, S_HEADER, 0);
  releaseAllVecs(s);
}

function fail(s: usize, code: i32, why: i32, pos: i32): i32 {
  set(s, S_STATE, ST_ERROR);
  set(s, S_ERR_CODE, code);
  set(s, S_ERR_WHY, why);
  store<f64>(s + S_ERR_OFFSET_BYTE, getBase(s) + <f64>pos);
  return EV_ERROR;
}

function isHeaderUnit(s: usize): bool {
  return get(s, S_MODE) == MODE_STREAM && get(s, S_UNIT_DEPTH) == 0;
}

function beginUnit(s: usize, pos: i32): void {
  set(s, S_UNIT_START, pos);
  set(s, S_UNIT_DEPTH, get(s, S_DEPTH));
  set(s, S_REC + V_LEN, 0);
  set(s, S_URIS + V_LEN, 0);
  set(s, S_AUX + V_LEN, 0);
  set(s, S_SCOPE + V_LEN, 0);
  set(s, S_ELEMS, 0);
  set(s, S_CUR_ELEM, -1);
  set(s, S_TEXT_START, -1);
}

function endUnit(s: usize): void {
  set(s, S_UNIT_START, -1);
  set(s, S_REC + V_LEN, 0);
  set(s, S_URIS + V_LEN, 0);
  set(s, S_AUX + V_LEN, 0);
  set(s, S_SCOPE + V_LEN, 0);
  set(s, S_CUR_ELEM, -1);
  set(s, S_LIMIT_POS, NO_LIMIT);
}

/** Limit position for the unit as a whole (stanza bytes), or NO_LIMIT for the stream header. */
function setUnitLimit(s: usize): void {
  const start = get(s, S_UNIT_START);
  if (start < 0 || isHeaderUnit(s)) {
    set(s, S_LIMIT_POS, NO_LIMIT);
    return;
  }
  set(s, S_LIMIT_POS, start + limit(s, LIMIT_STANZA_BYTES));
  set(s, S_LIMIT_WHY, WHY_LIMIT_STANZA_BYTES);
}

/** While inside a tag, the tag's own limit applies too; whichever comes first. */
function setTagLimit(s: usize, tagStart: i32): void {
  setUnitLimit(s);
  const t = tagStart + limit(s, LIMIT_START_TAG_BYTES);
  if (t < get(s, S_LIMIT_POS)) {
    set(s, S_LIMIT_POS, t);
    set(s, S_LIMIT_WHY, WHY_LIMIT_START_TAG_BYTES);
  }
}

// @ts-ignore: decorator
@inline function pushRecord(s: usize): usize {
  const len = get(s, S_REC + V_LEN);
  const base = len + 32 <= get(s, S_REC + V_CAP) ? <usize>get(s, S_REC + V_PTR) : vecReserve(s, S_REC, 32);
  set(s, S_REC + V_LEN, len + 32);
  return base + <usize>len;
}

// @ts-ignore: decorator
@inline function recAt(s: usize, index: i32): usize {
  return <usize>get(s, S_REC + V_PTR) + (<usize>index << 5);
}

function pushText(s: usize, a: i32, b: i32, flags: i32): void {
  const r = pushRecord(s);
  const u = get(s, S_UNIT_START);
  store<i32>(r, REC_TEXT);
  store<i32>(r, a - u, RT_OFF << 2);
  store<i32>(r, b - a, RT_LEN << 2);
  store<i32>(r, flags, RT_FLAGS << 2);
  store<i64>(r, 0, 16);
  store<i64>(r, 0, 24);
}

/** Length of a NameStartChar at p: >0 ok, 0 not a name start, -1 cut off, -2 invalid UTF-8. */
function nameStartLen(buf: usize, p: i32, len: i32): i32 {
  const c = byteAt(buf, p);
  if (c < 0x80) return (cls(c) & CC_NAME_START) != 0 ? 1 : 0;
  const n = utf8Decode(buf, p, len);
  if (n < 0) return -1;
  if (n == 0) return -2;
  return isNameStartCodePoint(decodedCodePoint) ? n : 0;
}

/** 0: stopped at a non-name byte; 1: ran out of bytes; 2: invalid UTF-8 at the returned position. */
let nameStatus: i32 = 0;
function scanName(buf: usize, p: i32, end: i32, len: i32): i32 {
  while (p < end) {
    const c = byteAt(buf, p);
    if (c < 0x80) {
      if ((cls(c) & CC_NAME) != 0) { p++; continue; }
      nameStatus = 0;
      return p;
    }
    const n = utf8Decode(buf, p, len);
    if (n == 0) { nameStatus = 2; return p; }
    if (n < 0) { nameStatus = 1; return p; }
    if (!isNameCodePoint(decodedCodePoint)) { nameStatus = 0; return p; }
    p += n;
  }
  nameStatus = 1;
  return p;
}

/** Prefix length of a QName (0 without prefix), or -1 if it is not a valid QName. */
function qnamePrefix(buf: usize, a: i32, b: i32): i32 {
  let colon = -1;
  for (let i = a; i < b; i++) {
    if (byteAt(buf, i) == 0x3a) {
      if (colon >= 0) return -1;
      colon = i;
    }
  }
  if (colon < 0) return 0;
  if (colon == a || colon == b - 1) return -1;
  const c = byteAt(buf, colon + 1);
  if (c < 0x80) {
    if ((cls(c) & CC_NAME_START) == 0) return -1;
  } else if (utf8Decode(buf, colon + 1, b) <= 0 || !isNameStartCodePoint(decodedCodePoint)) {
    return -1;
  }
  return colon - a;
}

/** Checks a reference's body (between `&` and `;`): ERR_NONE, or an error code with refWhy. */
let refWhy: i32 = 0;
function checkReference(buf: usize, a: i32, b: i32): i32 {
  refWhy = WHY_BAD_REFERENCE;
  const n = b - a;
  if (n == 0) return ERR_NOT_WELL_FORMED;
  const c0 = byteAt(buf, a);
  if (c0 == 0x23) {
    const hex = n > 1 && byteAt(buf, a + 1) == 0x78;
    const first = a + (hex ? 2 : 1);
    if (first >= b) return ERR_NOT_WELL_FORMED;
    let cp = 0;
    for (let i = first; i < b; i++) {
      const c = byteAt(buf, i);
      let v: i32;
      if (c >= 0x30 && c <= 0x39) v = c - 0x30;
      else if (hex && (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) v = (c | 0x20) - 0x61 + 10;
      else return ERR_NOT_WELL_FORMED;
      // Saturate above U+10FFFF so long digit strings cannot overflow.
      cp = hex ? (cp << 4) | v : cp * 10 + v;
      if (cp > 0x10ffff) cp = 0x110000;
    }
    if (!isXmlChar(cp)) { refWhy = WHY_INVALID_CHAR; return ERR_NOT_WELL_FORMED; }
    return ERR_NONE;
  }
  if (n == 3 && c0 == 0x61 && byteAt(buf, a + 1) == 0x6d && byteAt(buf, a + 2) == 0x70) return ERR_NONE;
  if (n == 2 && (c0 == 0x6c || c0 == 0x67) && byteAt(buf, a + 1) == 0x74) return ERR_NONE;
  if (n == 4 && c0 == 0x71 && byteAt(buf, a + 1) == 0x75 && byteAt(buf, a + 2) == 0x6f && byteAt(buf, a + 3) == 0x74) return ERR_NONE;
  if (n == 4 && c0 == 0x61 && byteAt(buf, a + 1) == 0x70 && byteAt(buf, a + 2) == 0x6f && byteAt(buf, a + 3) == 0x73) return ERR_NONE;
  if (c0 >= 0x80 || (cls(c0) & CC_NAME_START) != 0) { refWhy = WHY_ENTITY_REFERENCE; return ERR_RESTRICTED_XML; }
  return ERR_NOT_WELL_FORMED;
}

/** The unit's root element ended at `pos`: hand it out. */
function unitComplete(s: usize, pos: i32): i32 {
  set(s, S_UNIT_END, pos);
  set(s, S_PENDING, PENDING_END_UNIT);
  if (get(s, S_MODE) == MODE_DOCUMENT) {
    set(s, S_STATE, ST_DOC_START);
    set(s, S_DECL_OK, 1);
  } else {
    set(s, S_STATE, ST_CONTENT);
  }
  set(s, S_POS, pos);
  return EV_ELEMENT;
}

/** Closes the innermost element (end tag or `/>` ending at pos). Returns an event or -1 to go on. */
function closeElement(s: usize, pos: i32, tagStart: i32): i32 {
  const depth = get(s, S_DEPTH);
  const cur = get(s, S_CUR_ELEM);
  const u = get(s, S_UNIT_START);
  const r = pushRecord(s);
  store<i32>(r, REC_END);
  store<i32>(r, tagStart - u, RN_OFF << 2);
  store<i32>(r, pos - u, RN_END << 2);
  store<i32>(r, cur, RN_ELEM << 2);
  store<i32>(r, 0, 16);
  store<i64>(r, 0, 24);
  const e = recAt(s, cur);
  store<i32>(e, pos - u, RE_ELEM_END << 2);
  popScope(s, depth);
  set(s, S_DEPTH, depth - 1);
  const parent = load<i32>(e, RE_PARENT << 2);
  set(s, S_CUR_ELEM, parent);
  if (parent < 0) return unitComplete(s, pos);
  set(s, S_STATE, ST_CONTENT);
  set(s, S_TEXT_START, -1);
  setUnitLimit(s);
  return -1;
}

/** The start tag ended at pos (after `>`). Returns an event, or -1 to go on. */
function endStartTag(s: usize, buf: usize, pos: i32, selfClosing: bool): i32 {
  const u = get(s, S_UNIT_START);
  const cur = get(s, S_CUR_ELEM);
  const depth = get(s, S_DEPTH);
  const attrs = get(s, S_ATTRS);
  const e = recAt(s, cur);
  store<i32>(e, REC_ELEM | (attrs << 8));
  if (!finishStartTag(s, buf + <usize>u, u, cur, attrs, depth)) return fail(s, failCode, failWhy, failPos);
  store<i32>(e, pos - u, RE_TAG_END << 2);
  if (isHeaderUnit(s)) {
    buildHeaderBlock(s, buf + <usize>u, cur);
    set(s, S_UNIT_END, pos);
    set(s, S_POS, pos);
    set(s, S_BASE_DEPTH, 1);
    store<i32>(e, pos - u, RE_ELEM_END << 2);
    if (selfClosing) {
      set(s, S_DEPTH, 0);
      set(s, S_STATE, ST_CLOSED);
      set(s, S_PENDING, PENDING_CLOSE_AFTER_OPEN);
    } else {
      set(s, S_STATE, ST_CONTENT);
      set(s, S_PENDING, PENDING_END_UNIT);
    }
    return EV_STREAM_OPEN;
  }
  if (selfClosing) return closeElement(s, pos, pos);
  set(s, S_STATE, ST_CONTENT);
  set(s, S_TEXT_START, -1);
  setUnitLimit(s);
  return -1;
}

/** Drops the bytes no longer needed and, when nothing is pending, the buffers themselves. */
function settle(s: usize, pos: i32): void {
  const len = get(s, S_BUF + V_LEN);
  const unitStart = get(s, S_UNIT_START);
  const keep = unitStart >= 0 ? unitStart : pos;
  if (keep >= len) {
    setBase(s, getBase(s) + <f64>len);
    set(s, S_POS, 0);
    releaseAllVecs(s);
    return;
  }
  if (keep == 0) return;
  const buf = <usize>get(s, S_BUF + V_PTR);
  memory.copy(buf, buf + <usize>keep, <usize>(len - keep));
  setBase(s, getBase(s) + <f64>keep);
  set(s, S_BUF + V_LEN, len - keep);
  set(s, S_POS, pos - keep);
  if (unitStart >= 0) set(s, S_UNIT_START, unitStart - keep);
  set(s, S_TOK_START, get(s, S_TOK_START) - keep);
  set(s, S_TAG_START, get(s, S_TAG_START) - keep);
  const ts = get(s, S_TEXT_START);
  if (ts >= 0) set(s, S_TEXT_START, ts - keep);
  const lp = get(s, S_LIMIT_POS);
  if (lp != NO_LIMIT) set(s, S_LIMIT_POS, lp - keep);
}

/** Runs until an event or until the bytes fed so far are used up. */
export function run(s: usize): i32 {
  let state = get(s, S_STATE);
  if (state == ST_ERROR) return EV_ERROR;
  const pending = get(s, S_PENDING);
  if (pending != PENDING_NONE) {
    set(s, S_PENDING, PENDING_NONE);
    endUnit(s);
    if (pending == PENDING_CLOSE_AFTER_OPEN) {
      set(s, S_UNIT_END, get(s, S_POS));
      return EV_STREAM_CLOSE;
    }
  }
  state = get(s, S_STATE);
  const buf = <usize>get(s, S_BUF + V_PTR);
  const len = get(s, S_BUF + V_LEN);
  let pos = get(s, S_POS);
  let needMore = false;

  while (!needMore) {
    let end = get(s, S_LIMIT_POS);
    if (end > len) end = len;
    if (pos >= end) {
      if (pos < len || (end < len)) return fail(s, ERR_POLICY_VIOLATION, get(s, S_LIMIT_WHY), end);
      break;
    }
    switch (state) {
      case ST_CONTENT: {
        if (get(s, S_CUR_ELEM) < 0) {
          // Between stanzas at stream level: whitespace (keepalives) only.
          while (pos < end && isSpace(byteAt(buf, pos))) pos++;
          if (pos >= end) break;
          if (byteAt(buf, pos) != 0x3c) return fail(s, ERR_NOT_WELL_FORMED, WHY_TEXT_OUTSIDE_ELEMENT, pos);
          beginUnit(s, pos);
          set(s, S_TAG_START, pos);
          setTagLimit(s, pos);
          pos++;
          state = ST_LT;
          break;
        }
        let textStart = get(s, S_TEXT_START);
        let flags = get(s, S_TEXT_FLAGS);
        if (textStart < 0) { textStart = pos; flags = 0; }
        while (true) {
          pos = scanText(buf, pos, end);
          if (pos >= end) break;
          const c = byteAt(buf, pos);
          if (c == 0x3c) {
            if (pos > textStart) pushText(s, textStart, pos, flags);
            textStart = -1;
            set(s, S_TAG_START, pos);
            setTagLimit(s, pos);
            pos++;
            state = ST_LT;
            break;
          }
          if (c == 0x26) {
            set(s, S_TOK_START, pos);
            set(s, S_RETURN_STATE, ST_CONTENT);
            flags |= FLAG_DECODE;
            pos++;
            state = ST_ENTITY;
            break;
          }
          if (c == 0x5d) {
            if (pos + 1 >= len) { needMore = true; break; }
            if (byteAt(buf, pos + 1) != 0x5d) { pos++; continue; }
            if (pos + 2 >= len) { needMore = true; break; }
            if (byteAt(buf, pos + 2) == 0x3e) return fail(s, ERR_NOT_WELL_FORMED, WHY_CDATA_END_IN_TEXT, pos);
            pos++;
            continue;
          }
          if (c < 0x80) {
            if (c == 0x0d) { flags |= FLAG_DECODE; pos++; continue; }
            if (c == 0x0a || c == 0x09) { pos++; continue; }
            return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_CHAR, pos);
          }
          const n = utf8Decode(buf, pos, len);
          if (n > 0) { flags |= FLAG_NON_ASCII; pos += n; continue; }
          if (n < 0) { needMore = true; break; }
          return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        }
        set(s, S_TEXT_START, textStart);
        set(s, S_TEXT_FLAGS, flags);
        break;
      }

      case ST_LT: {
        const c = byteAt(buf, pos);
        if (c == 0x2f) {
          if (get(s, S_DEPTH) == 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
          pos++;
          set(s, S_TOK_START, pos);
          state = ST_END_NAME;
          break;
        }
        if (c == 0x21) { pos++; state = ST_BANG; break; }
        if (c == 0x3f) {
          if (get(s, S_DECL_OK) == 0) return fail(s, ERR_RESTRICTED_XML, WHY_PROCESSING_INSTRUCTION, get(s, S_TAG_START));
          pos++;
          set(s, S_TOK_START, pos);
          state = ST_PI;
          break;
        }
        if (c == 0 && get(s, S_DECL_OK) != 0) return fail(s, ERR_UNSUPPORTED_ENCODING, WHY_UTF16, pos);
        const n = nameStartLen(buf, pos, len);
        if (n == -1) { needMore = true; break; }
        if (n == -2) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        if (n == 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        const depth = get(s, S_DEPTH) + 1;
        if (!isHeaderUnit(s)) {
          const tagStart = get(s, S_TAG_START);
          if (depth - get(s, S_UNIT_DEPTH) > limit(s, LIMIT_DEPTH)) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_DEPTH, tagStart);
          const elems = get(s, S_ELEMS) + 1;
          if (elems > limit(s, LIMIT_ELEMENTS)) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_ELEMENTS, tagStart);
          set(s, S_ELEMS, elems);
        }
        set(s, S_DEPTH, depth);
        set(s, S_DECL_OK, 0);
        set(s, S_TOK_START, pos);
        pos += n;
        state = ST_START_NAME;
        break;
      }

      case ST_START_NAME:
      case ST_ATTR_NAME: {
        const tok = get(s, S_TOK_START);
        pos = scanName(buf, pos, end, len);
        const maxName = limit(s, LIMIT_NAME_LENGTH);
        if (pos - tok > maxName) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_NAME_LENGTH, tok + maxName);
        if (nameStatus == 2) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        if (nameStatus == 1) { if (pos < end) needMore = true; break; }
        const prefixLen = qnamePrefix(buf, tok, pos);
        if (prefixLen < 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_BAD_NAME, tok);
        const u = get(s, S_UNIT_START);
        const r = pushRecord(s);
        const packed = (pos - tok) | (prefixLen << 16);
        if (state == ST_START_NAME) {
          store<i32>(r, REC_ELEM);
          store<i32>(r, get(s, S_TAG_START) - u, RE_TAG_START << 2);
          store<i32>(r, 0, RE_TAG_END << 2);
          store<i32>(r, tok - u, RE_NAME_OFF << 2);
          store<i32>(r, packed, RE_NAME << 2);
          store<i32>(r, 0, RE_NS << 2);
          store<i32>(r, 0, RE_ELEM_END << 2);
          store<i32>(r, get(s, S_CUR_ELEM), RE_PARENT << 2);
          set(s, S_CUR_ELEM, (get(s, S_REC + V_LEN) >> 5) - 1);
          set(s, S_ATTRS, 0);
          set(s, S_HAD_SPACE, 0);
          state = ST_TAG_SPACE;
        } else {
          // FNV-1a of the local part, so the duplicate check compares bytes only on collisions
          let h: u32 = 2166136261;
          for (let i = tok + (prefixLen > 0 ? prefixLen + 1 : 0); i < pos; i++) h = (h ^ <u32>byteAt(buf, i)) * 16777619;
          store<i32>(r, REC_ATTR);
          store<i32>(r, tok - u, RA_NAME_OFF << 2);
          store<i32>(r, packed, RA_NAME << 2);
          store<i32>(r, 0, 12);
          store<i32>(r, 0, RA_VALUE_OFF << 2);
          store<i32>(r, 0, RA_VALUE_LEN << 2);
          store<i32>(r, 0, RA_FLAGS << 2);
          store<i32>(r, <i32>h, RA_HASH << 2);
          state = ST_ATTR_EQ;
          // Common case `name='…`: go straight to the value, skipping two dispatches.
          if (pos + 1 < end && byteAt(buf, pos) == 0x3d) {
            const q = byteAt(buf, pos + 1);
            if (q == 0x22 || q == 0x27) {
              set(s, S_QUOTE, q);
              pos += 2;
              set(s, S_TEXT_START, pos);
              set(s, S_TEXT_FLAGS, 0);
              state = ST_ATTR_VALUE;
            }
          }
        }
        break;
      }

      case ST_TAG_SPACE: {
        const start = pos;
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos > start) set(s, S_HAD_SPACE, 1);
        if (pos >= end) break;
        const c = byteAt(buf, pos);
        if (c == 0x3e) {
          pos++;
          const ev = endStartTag(s, buf, pos, false);
          if (ev >= 0) return ev;
          state = get(s, S_STATE);
          break;
        }
        if (c == 0x2f) { pos++; state = ST_TAG_SLASH; break; }
        const n = nameStartLen(buf, pos, len);
        if (n == -1) { needMore = true; break; }
        if (n == -2) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        if (n == 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        if (get(s, S_HAD_SPACE) == 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_MISSING_WHITESPACE, pos);
        const attrs = get(s, S_ATTRS) + 1;
        if (attrs > limit(s, LIMIT_ATTRIBUTES)) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_ATTRIBUTES, pos);
        set(s, S_ATTRS, attrs);
        set(s, S_TOK_START, pos);
        pos += n;
        state = ST_ATTR_NAME;
        break;
      }

      case ST_TAG_SLASH: {
        if (byteAt(buf, pos) != 0x3e) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        pos++;
        const ev = endStartTag(s, buf, pos, true);
        if (ev >= 0) return ev;
        state = get(s, S_STATE);
        break;
      }

      case ST_ATTR_EQ: {
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos >= end) break;
        if (byteAt(buf, pos) != 0x3d) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        pos++;
        state = ST_ATTR_QUOTE;
        break;
      }

      case ST_ATTR_QUOTE: {
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos >= end) break;
        const q = byteAt(buf, pos);
        if (q != 0x22 && q != 0x27) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        set(s, S_QUOTE, q);
        pos++;
        set(s, S_TEXT_START, pos);
        set(s, S_TEXT_FLAGS, 0);
        state = ST_ATTR_VALUE;
        break;
      }

      case ST_ATTR_VALUE: {
        const quote = get(s, S_QUOTE);
        let flags = get(s, S_TEXT_FLAGS);
        while (true) {
          pos = scanAttrValue(buf, pos, end, quote);
          if (pos >= end) break;
          const c = byteAt(buf, pos);
          if (c == quote) {
            const u = get(s, S_UNIT_START);
            const vs = get(s, S_TEXT_START);
            const r = <usize>get(s, S_REC + V_PTR) + <usize>get(s, S_REC + V_LEN) - 32;
            store<i32>(r, vs - u, RA_VALUE_OFF << 2);
            store<i32>(r, pos - vs, RA_VALUE_LEN << 2);
            store<i32>(r, flags, RA_FLAGS << 2);
            set(s, S_TEXT_START, -1);
            set(s, S_HAD_SPACE, 0);
            pos++;
            state = ST_TAG_SPACE;
            break;
          }
          if (c == 0x26) {
            set(s, S_TOK_START, pos);
            set(s, S_RETURN_STATE, ST_ATTR_VALUE);
            flags |= FLAG_DECODE;
            pos++;
            state = ST_ENTITY;
            break;
          }
          if (c == 0x3c) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
          if (c < 0x80) {
            if (c == 0x09 || c == 0x0a || c == 0x0d) { flags |= FLAG_DECODE; pos++; continue; }
            return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_CHAR, pos);
          }
          const n = utf8Decode(buf, pos, len);
          if (n > 0) { flags |= FLAG_NON_ASCII; pos += n; continue; }
          if (n < 0) { needMore = true; break; }
          return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        }
        set(s, S_TEXT_FLAGS, flags);
        break;
      }

      case ST_ENTITY: {
        const tok = get(s, S_TOK_START);
        const maxRef = limit(s, LIMIT_NAME_LENGTH) + 2;
        let found = false;
        while (pos < end) {
          const c = byteAt(buf, pos);
          if (c == 0x3b) { found = true; break; }
          if (c < 0x80 && (cls(c) & CC_NAME) == 0 && c != 0x23) return fail(s, ERR_NOT_WELL_FORMED, WHY_BAD_REFERENCE, tok);
          pos++;
          if (pos - tok > maxRef) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_NAME_LENGTH, pos);
        }
        if (!found) break;
        const err = checkReference(buf, tok + 1, pos);
        if (err != ERR_NONE) return fail(s, err, refWhy, tok);
        pos++;
        state = get(s, S_RETURN_STATE);
        if (state == ST_CONTENT) set(s, S_TEXT_FLAGS, get(s, S_TEXT_FLAGS) | FLAG_DECODE);
        break;
      }

      case ST_END_NAME: {
        const tok = get(s, S_TOK_START);
        if (pos == tok) {
          const n = nameStartLen(buf, pos, len);
          if (n == -1) { needMore = true; break; }
          if (n == -2) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
          if (n == 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
          pos += n;
        }
        pos = scanName(buf, pos, end, len);
        const maxName = limit(s, LIMIT_NAME_LENGTH);
        if (pos - tok > maxName) return fail(s, ERR_POLICY_VIOLATION, WHY_LIMIT_NAME_LENGTH, tok + maxName);
        if (nameStatus == 2) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        if (nameStatus == 1) { if (pos < end) needMore = true; break; }
        const n = pos - tok;
        const cur = get(s, S_CUR_ELEM);
        let match = false;
        if (cur < 0) {
          match = headerNameMatches(s, buf + <usize>tok, n);
        } else {
          const e = recAt(s, cur);
          const u = get(s, S_UNIT_START);
          match = (load<i32>(e, RE_NAME << 2) & 0xffff) == n &&
            bytesEqual(buf + <usize>(u + load<i32>(e, RE_NAME_OFF << 2)), buf + <usize>tok, n);
        }
        if (!match) return fail(s, ERR_NOT_WELL_FORMED, WHY_TAG_MISMATCH, get(s, S_TAG_START));
        state = ST_END_SPACE;
        break;
      }

      case ST_END_SPACE: {
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos >= end) break;
        if (byteAt(buf, pos) != 0x3e) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        pos++;
        if (get(s, S_CUR_ELEM) < 0) {
          // `</stream:stream>`
          set(s, S_DEPTH, 0);
          set(s, S_BASE_DEPTH, 0);
          set(s, S_UNIT_END, pos);
          set(s, S_POS, pos);
          set(s, S_STATE, ST_CLOSED);
          set(s, S_PENDING, PENDING_END_UNIT);
          return EV_STREAM_CLOSE;
        }
        const ev = closeElement(s, pos, get(s, S_TAG_START));
        if (ev >= 0) return ev;
        state = ST_CONTENT;
        break;
      }

      case ST_BANG: {
        const c = byteAt(buf, pos);
        const tagStart = get(s, S_TAG_START);
        if (c == 0x2d) return fail(s, ERR_RESTRICTED_XML, WHY_COMMENT, tagStart);
        if (c == 0x44) return fail(s, ERR_RESTRICTED_XML, WHY_DOCTYPE, tagStart);
        if (c >= 0x41 && c <= 0x5a) return fail(s, ERR_RESTRICTED_XML, WHY_MARKUP_DECLARATION, tagStart);
        if (c != 0x5b || get(s, S_CUR_ELEM) < 0) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
        pos++;
        set(s, S_COUNTER, 0);
        state = ST_CDATA_OPEN;
        break;
      }

      case ST_CDATA_OPEN: {
        // "CDATA[" one byte at a time, so a split anywhere inside it resumes here.
        let k = get(s, S_COUNTER);
        while (pos < end && k < 6) {
          const want: i32 = k == 5 ? 0x5b : <i32>"CDATA".charCodeAt(k);
          if (byteAt(buf, pos) != want) return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
          pos++;
          k++;
        }
        set(s, S_COUNTER, k);
        if (k < 6) break;
        set(s, S_TEXT_START, pos);
        set(s, S_TEXT_FLAGS, FLAG_CDATA);
        setUnitLimit(s);
        state = ST_CDATA;
        break;
      }

      case ST_CDATA: {
        let flags = get(s, S_TEXT_FLAGS);
        while (true) {
          pos = scanCdata(buf, pos, end);
          if (pos >= end) break;
          const c = byteAt(buf, pos);
          if (c == 0x5d) {
            if (pos + 1 >= len) { needMore = true; break; }
            if (byteAt(buf, pos + 1) != 0x5d) { pos++; continue; }
            if (pos + 2 >= len) { needMore = true; break; }
            if (byteAt(buf, pos + 2) != 0x3e) { pos++; continue; }
            pushText(s, get(s, S_TEXT_START), pos, flags);
            set(s, S_TEXT_START, -1);
            pos += 3;
            state = ST_CONTENT;
            break;
          }
          if (c < 0x80) {
            if (c == 0x0d) { flags |= FLAG_DECODE; pos++; continue; }
            if (c == 0x0a || c == 0x09) { pos++; continue; }
            return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_CHAR, pos);
          }
          const n = utf8Decode(buf, pos, len);
          if (n > 0) { flags |= FLAG_NON_ASCII; pos += n; continue; }
          if (n < 0) { needMore = true; break; }
          return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
        }
        if (state == ST_CDATA) set(s, S_TEXT_FLAGS, flags);
        break;
      }

      case ST_PI: {
        let found = false;
        while (pos < end) {
          const c = byteAt(buf, pos);
          if (c == 0x3f) {
            if (pos + 1 >= len) { needMore = true; break; }
            if (byteAt(buf, pos + 1) == 0x3e) { found = true; break; }
          } else if (c >= 0x80 || (c < 0x20 && !isSpace(c))) {
            // Only ASCII can form a valid declaration; decide now what this is.
            const err = checkXmlDeclaration(buf, get(s, S_TOK_START), pos, get(s, S_TAG_START));
            return fail(s, err == ERR_RESTRICTED_XML ? ERR_RESTRICTED_XML : ERR_NOT_WELL_FORMED,
              err == ERR_RESTRICTED_XML ? WHY_PROCESSING_INSTRUCTION : declWhy, get(s, S_TAG_START));
          }
          pos++;
        }
        if (!found) break;
        const err = checkXmlDeclaration(buf, get(s, S_TOK_START), pos, get(s, S_TAG_START));
        if (err != ERR_NONE) return fail(s, err, declWhy, declErrPos);
        pos += 2;
        set(s, S_DECL_OK, 0);
        endUnit(s);
        state = ST_PROLOG;
        break;
      }

      case ST_DOC_START: {
        const c = byteAt(buf, pos);
        if (c == 0xfe || c == 0xff || c == 0) return fail(s, ERR_UNSUPPORTED_ENCODING, WHY_UTF16, pos);
        if (c == 0xef) {
          // A UTF-8 byte order mark is tolerated at the very start.
          if (pos + 1 < len && byteAt(buf, pos + 1) != 0xbb) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
          if (pos + 2 < len && byteAt(buf, pos + 2) != 0xbf) return fail(s, ERR_NOT_WELL_FORMED, WHY_INVALID_UTF8, pos);
          if (pos + 3 > len) { needMore = true; break; }
          pos += 3;
        }
        state = ST_PROLOG;
        break;
      }

      case ST_PROLOG: {
        const start = pos;
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos > start) set(s, S_DECL_OK, 0);
        if (pos >= end) break;
        if (byteAt(buf, pos) != 0x3c) {
          if (byteAt(buf, pos) == 0 && get(s, S_DECL_OK) != 0) return fail(s, ERR_UNSUPPORTED_ENCODING, WHY_UTF16, pos);
          return fail(s, ERR_NOT_WELL_FORMED, WHY_TEXT_OUTSIDE_ELEMENT, pos);
        }
        beginUnit(s, pos);
        set(s, S_TAG_START, pos);
        setTagLimit(s, pos);
        pos++;
        state = ST_LT;
        break;
      }

      case ST_CLOSED: {
        while (pos < end && isSpace(byteAt(buf, pos))) pos++;
        if (pos >= end) break;
        return fail(s, ERR_NOT_WELL_FORMED, WHY_CONTENT_AFTER_CLOSE, pos);
      }

      default:
        return fail(s, ERR_NOT_WELL_FORMED, WHY_UNEXPECTED_BYTE, pos);
    }
  }
  set(s, S_POS, pos);
  set(s, S_STATE, state);
  settle(s, pos);
  return EV_NEED_MORE;
}

/** End of input (socket closed, WebSocket frame or BOSH body complete). */
export function finish(s: usize): i32 {
  if (get(s, S_STATE) == ST_ERROR) return EV_ERROR;
  const len = get(s, S_BUF + V_LEN);
  if (get(s, S_UNIT_START) >= 0 || get(s, S_POS) < len) return fail(s, ERR_NOT_WELL_FORMED, WHY_TRUNCATED, len);
  if (get(s, S_MODE) == MODE_DOCUMENT) {
    set(s, S_STATE, ST_DOC_START);
    set(s, S_DECL_OK, 1);
  }
  return EV_NEED_MORE;
}

export { EV_ERROR, ST_ERROR, MODE_STREAM, S_BASE_DEPTH };
