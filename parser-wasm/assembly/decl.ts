// The XML declaration (`<?xml version='1.0' encoding='UTF-8'?>`), the only processing
// instruction RFC 6120 lets through, and only at the very start of a document.

import {
  ERR_NONE, ERR_NOT_WELL_FORMED, ERR_RESTRICTED_XML, ERR_UNSUPPORTED_ENCODING,
  WHY_BAD_XML_DECLARATION, WHY_PROCESSING_INSTRUCTION, WHY_ENCODING_DECLARED,
} from '../shared/constants';
import { cls, CC_NAME, isSpace } from './chars';

export let declWhy: i32 = 0;
export let declErrPos: i32 = 0;

let cur: i32 = 0;
let lim: i32 = 0;
let base: usize = 0;

// @ts-ignore: decorator
@inline function at(i: i32): i32 {
  return <i32>load<u8>(base + <usize>i);
}

function skipSpace(): bool {
  const start = cur;
  while (cur < lim && isSpace(at(cur))) cur++;
  return cur > start;
}

function word(w: string): bool {
  if (lim - cur < w.length) return false;
  for (let i = 0; i < w.length; i++) if (at(cur + i) != w.charCodeAt(i)) return false;
  cur += w.length;
  return true;
}

/** Eq, then a quoted value; returns the value's start (end in valueEnd) or -1. */
let valueEnd: i32 = 0;
function quotedValue(): i32 {
  skipSpace();
  if (cur >= lim || at(cur) != 0x3d) return -1;
  cur++;
  skipSpace();
  if (cur >= lim) return -1;
  const q = at(cur);
  if (q != 0x22 && q != 0x27) return -1;
  const start = ++cur;
  while (cur < lim && at(cur) != q) cur++;
  if (cur >= lim) return -1;
  valueEnd = cur++;
  return start;
}

function lower(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * Checks the bytes between `<?` and `?>` (window positions a..b). `tagPos` is where the
 * `<?` starts, used as the error offset. Returns an ERR_* code (ERR_NONE if acceptable).
 */
export function checkXmlDeclaration(buf: usize, a: i32, b: i32, tagPos: i32): i32 {
  base = buf;
  cur = a;
  lim = b;
  declErrPos = tagPos;
  // The target: anything but exactly "xml" is a processing instruction.
  let t = cur;
  while (t < lim && (at(t) >= 0x80 || (cls(at(t)) & CC_NAME) != 0)) t++;
  if (t - cur != 3 || at(cur) != 0x78 || at(cur + 1) != 0x6d || at(cur + 2) != 0x6c) {
    declWhy = WHY_PROCESSING_INSTRUCTION;
    return ERR_RESTRICTED_XML;
  }
  cur = t;
  declWhy = WHY_BAD_XML_DECLARATION;
  if (!skipSpace() || !word('version')) return ERR_NOT_WELL_FORMED;
  let v = quotedValue();
  if (v < 0 || valueEnd - v < 3 || at(v) != 0x31 || at(v + 1) != 0x2e) return ERR_NOT_WELL_FORMED;
  for (let i = v + 2; i < valueEnd; i++) if (at(i) < 0x30 || at(i) > 0x39) return ERR_NOT_WELL_FORMED;
  let spaced = skipSpace();
  if (spaced && word('encoding')) {
    v = quotedValue();
    if (v < 0 || valueEnd == v) return ERR_NOT_WELL_FORMED;
    const first = lower(at(v));
    if (first < 0x61 || first > 0x7a) return ERR_NOT_WELL_FORMED;
    for (let i = v + 1; i < valueEnd; i++) {
      const c = lower(at(i));
      if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d)) return ERR_NOT_WELL_FORMED;
    }
    const isUtf8 = valueEnd - v == 5 && lower(at(v)) == 0x75 && lower(at(v + 1)) == 0x74 &&
      lower(at(v + 2)) == 0x66 && at(v + 3) == 0x2d && at(v + 4) == 0x38;
    if (!isUtf8) {
      declWhy = WHY_ENCODING_DECLARED;
      declErrPos = v;
      return ERR_UNSUPPORTED_ENCODING;
    }
    spaced = skipSpace();
  }
  if (spaced && word('standalone')) {
    v = quotedValue();
    if (v < 0) return ERR_NOT_WELL_FORMED;
    const n = valueEnd - v;
    const yes = n == 3 && at(v) == 0x79 && at(v + 1) == 0x65 && at(v + 2) == 0x73;
    const no = n == 2 && at(v) == 0x6e && at(v + 1) == 0x6f;
    if (!yes && !no) return ERR_NOT_WELL_FORMED;
    skipSpace();
  }
  if (cur != lim) return ERR_NOT_WELL_FORMED;
  return ERR_NONE;
}
