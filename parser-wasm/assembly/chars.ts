// Character classes of XML 1.0 (Fifth Edition) and strict UTF-8 decoding.

export const CC_NAME_START: u8 = 1;
export const CC_NAME: u8 = 2;
export const CC_SPACE: u8 = 4;

/** ASCII class table; bytes >= 0x80 are classified by decoding the code point. */
export const classTable: usize = heap.alloc(256);
memory.fill(classTable, 0, 256);
for (let c = 0; c < 128; c++) {
  let k: u8 = 0;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x3a) k |= CC_NAME_START | CC_NAME;
  if ((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e) k |= CC_NAME;
  if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) k |= CC_SPACE;
  store<u8>(classTable + c, k);
}

// @ts-ignore: decorator
@inline export function cls(c: i32): u8 {
  return load<u8>(classTable + <usize>c);
}

// @ts-ignore: decorator
@inline export function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x0a || c == 0x09 || c == 0x0d;
}

/** Code point decoded by the last successful utf8Decode. */
export let decodedCodePoint: i32 = 0;

/**
 * Validates the UTF-8 sequence at p (lead byte >= 0x80): returns its length (2..4),
 * 0 if invalid (overlong, surrogate, > U+10FFFF, bad continuation, U+FFFE/U+FFFF),
 * or -1 if valid so far but cut off at `len` (more bytes needed).
 */
export function utf8Decode(buf: usize, p: i32, len: i32): i32 {
  const c0 = <i32>load<u8>(buf + <usize>p);
  if (c0 < 0xc2) return 0;
  if (c0 < 0xe0) {
    if (p + 1 >= len) return -1;
    const c1 = <i32>load<u8>(buf + <usize>p + 1);
    if ((c1 & 0xc0) != 0x80) return 0;
    decodedCodePoint = ((c0 & 0x1f) << 6) | (c1 & 0x3f);
    return 2;
  }
  if (c0 < 0xf0) {
    if (p + 1 >= len) return -1;
    const c1 = <i32>load<u8>(buf + <usize>p + 1);
    const lo = c0 == 0xe0 ? 0xa0 : 0x80;
    const hi = c0 == 0xed ? 0x9f : 0xbf;
    if (c1 < lo || c1 > hi) return 0;
    if (p + 2 >= len) return -1;
    const c2 = <i32>load<u8>(buf + <usize>p + 2);
    if ((c2 & 0xc0) != 0x80) return 0;
    const cp = ((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f);
    if (cp == 0xfffe || cp == 0xffff) return 0;
    decodedCodePoint = cp;
    return 3;
  }
  if (c0 < 0xf5) {
    if (p + 1 >= len) return -1;
    const c1 = <i32>load<u8>(buf + <usize>p + 1);
    const lo = c0 == 0xf0 ? 0x90 : 0x80;
    const hi = c0 == 0xf4 ? 0x8f : 0xbf;
    if (c1 < lo || c1 > hi) return 0;
    if (p + 2 >= len) return -1;
    const c2 = <i32>load<u8>(buf + <usize>p + 2);
    if ((c2 & 0xc0) != 0x80) return 0;
    if (p + 3 >= len) return -1;
    const c3 = <i32>load<u8>(buf + <usize>p + 3);
    if ((c3 & 0xc0) != 0x80) return 0;
    decodedCodePoint = ((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f);
    return 4;
  }
  return 0;
}

/** Char production of XML 1.0. */
export function isXmlChar(cp: i32): bool {
  if (cp < 0x20) return cp == 0x09 || cp == 0x0a || cp == 0x0d;
  if (cp <= 0xd7ff) return true;
  if (cp < 0xe000) return false;
  if (cp <= 0xfffd) return true;
  return cp >= 0x10000 && cp <= 0x10ffff;
}

/** NameStartChar for code points >= 0x80. */
export function isNameStartCodePoint(cp: i32): bool {
  return (cp >= 0xc0 && cp <= 0xd6) || (cp >= 0xd8 && cp <= 0xf6) || (cp >= 0xf8 && cp <= 0x2ff) ||
    (cp >= 0x370 && cp <= 0x37d) || (cp >= 0x37f && cp <= 0x1fff) || (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2070 && cp <= 0x218f) || (cp >= 0x2c00 && cp <= 0x2fef) || (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) || (cp >= 0xfdf0 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0xeffff);
}

/** NameChar for code points >= 0x80. */
export function isNameCodePoint(cp: i32): bool {
  return isNameStartCodePoint(cp) || cp == 0xb7 || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x203f && cp <= 0x2040);
}
