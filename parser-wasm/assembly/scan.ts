// SIMD scanners: skip 16 bytes at a time over the bytes that need no attention.
// Each returns the index of the first byte the state machine must look at (or `end`).
// `lt_s(v, 0x20)` flags both control bytes (< 0x20) and every byte >= 0x80 (negative
// as i8), so one comparison catches CR/LF/TAB, forbidden controls and non-ASCII runs.

const V_LT = i8x16.splat(0x3c);
const V_AMP = i8x16.splat(0x26);
const V_RBRACKET = i8x16.splat(0x5d);
const V_CTL = i8x16.splat(0x20);

/** Text content: stops at `<`, `&`, `]`, controls, non-ASCII. */
export function scanText(buf: usize, p: i32, end: i32): i32 {
  while (p + 16 <= end) {
    const v = v128.load(buf + <usize>p);
    const m = v128.or(
      v128.or(i8x16.eq(v, V_LT), i8x16.eq(v, V_AMP)),
      v128.or(i8x16.eq(v, V_RBRACKET), i8x16.lt_s(v, V_CTL)),
    );
    const bits = i8x16.bitmask(m);
    if (bits != 0) return p + ctz<i32>(bits);
    p += 16;
  }
  while (p < end) {
    const c = <i32>load<u8>(buf + <usize>p);
    if (c == 0x3c || c == 0x26 || c == 0x5d || c < 0x20 || c >= 0x80) return p;
    p++;
  }
  return p;
}

/** Attribute value: stops at the quote, `<`, `&`, controls, non-ASCII. */
export function scanAttrValue(buf: usize, p: i32, end: i32, quote: i32): i32 {
  const vq = i8x16.splat(<i8>quote);
  while (p + 16 <= end) {
    const v = v128.load(buf + <usize>p);
    const m = v128.or(
      v128.or(i8x16.eq(v, V_LT), i8x16.eq(v, V_AMP)),
      v128.or(i8x16.eq(v, vq), i8x16.lt_s(v, V_CTL)),
    );
    const bits = i8x16.bitmask(m);
    if (bits != 0) return p + ctz<i32>(bits);
    p += 16;
  }
  while (p < end) {
    const c = <i32>load<u8>(buf + <usize>p);
    if (c == quote || c == 0x3c || c == 0x26 || c < 0x20 || c >= 0x80) return p;
    p++;
  }
  return p;
}

/** CDATA content: stops at `]`, controls, non-ASCII. */
export function scanCdata(buf: usize, p: i32, end: i32): i32 {
  while (p + 16 <= end) {
    const v = v128.load(buf + <usize>p);
    const m = v128.or(i8x16.eq(v, V_RBRACKET), i8x16.lt_s(v, V_CTL));
    const bits = i8x16.bitmask(m);
    if (bits != 0) return p + ctz<i32>(bits);
    p += 16;
  }
  while (p < end) {
    const c = <i32>load<u8>(buf + <usize>p);
    if (c == 0x5d || c < 0x20 || c >= 0x80) return p;
    p++;
  }
  return p;
}
