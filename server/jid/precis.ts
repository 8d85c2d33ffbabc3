// PRECIS (RFC 8264) with the two profiles XMPP addresses use (RFC 8265):
//   UsernameCaseMapped for localparts, OpaqueString for resourceparts.
//
// Character classes are derived from Unicode properties through regular-expression property
// escapes, so the tables follow the Unicode version of the JavaScript engine instead of a
// copied table. Where JavaScript exposes no property the RFC needs, the rule is approximated
// and says so below (CONTEXTJ needs Canonical_Combining_Class; the Bidi Rule needs Bidi_Class).
//
// Both profiles have an ASCII fast path: almost every real address is ASCII, and for ASCII
// the whole pipeline reduces to "printable, lowercased (usernames)".

/** Why a string was refused. A value, not an exception: JID parsing is on the hot path. */
export class PrecisFailure {
  constructor(readonly reason: string) {}
}

type Derived = 'pvalid' | 'contexto' | 'contextj' | 'disallowed';
type StringClass = 'identifier' | 'freeform';

// RFC 5892 §2.6 exceptions, which take precedence over every derived property.
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
const EXCEPTION_CONTEXTO = new Set([0x00b7, 0x0375, 0x05f3, 0x05f4, 0x30fb]);
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);

const UNASSIGNED = /^\p{Cn}$/u;
const IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;
const CONTROL = /^\p{Cc}$/u;
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const OTHER_LETTER_DIGITS = /^[\p{Lt}\p{Nl}\p{No}\p{Me}]$/u;
const SPACE = /^\p{Zs}$/u;
const SYMBOL = /^[\p{Sm}\p{Sc}\p{Sk}\p{So}]$/u;
const PUNCTUATION = /^\p{P}$/u;

const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const KANA_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

// Approximation of Bidi_Class R and AL: letters of the right-to-left scripts.
const RTL_LETTER = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Mende_Kikakui}]/u;
const RTL_LETTER_ONE = new RegExp('^' + RTL_LETTER.source + '$', 'u');
// Approximation of Bidi_Class L: any letter or spacing mark not of a right-to-left script.
const LTR_LETTER_ONE = /^[\p{L}\p{Mc}]$/u;

function isOldHangulJamo(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xd7b0 && cp <= 0xd7ff);
}

function isArabicIndicDigit(cp: number): boolean {
  return cp >= 0x0660 && cp <= 0x0669;
}

function isExtendedArabicIndicDigit(cp: number): boolean {
  return cp >= 0x06f0 && cp <= 0x06f9;
}

/** RFC 8264 §8 derived property of one code point, in the order §9 gives precedence. */
function derive(cp: number, ch: string, cls: StringClass): Derived {
  if (EXCEPTION_PVALID.has(cp)) return 'pvalid';
  if (EXCEPTION_CONTEXTO.has(cp) || isArabicIndicDigit(cp) || isExtendedArabicIndicDigit(cp)) return 'contexto';
  if (EXCEPTION_DISALLOWED.has(cp)) return 'disallowed';
  if (UNASSIGNED.test(ch)) return 'disallowed';
  if (cp >= 0x21 && cp <= 0x7e) return 'pvalid';
  if (cp === 0x200c || cp === 0x200d) return 'contextj';
  if (isOldHangulJamo(cp)) return 'disallowed';
  if (IGNORABLE.test(ch)) return 'disallowed';
  if (CONTROL.test(ch)) return 'disallowed';
  const free = cls === 'freeform' ? 'pvalid' : 'disallowed';
  if (ch.normalize('NFKC') !== ch) return free;
  if (LETTER_DIGITS.test(ch)) return 'pvalid';
  if (OTHER_LETTER_DIGITS.test(ch) || SPACE.test(ch) || SYMBOL.test(ch) || PUNCTUATION.test(ch)) return free;
  return 'disallowed';
}

/** RFC 5892 Appendix A rules for the CONTEXTO code points. */
function contextOk(cp: number, chars: string[], i: number, codePoints: number[]): boolean {
  switch (cp) {
    case 0x00b7: // MIDDLE DOT: only between two 'l' (Catalan)
      return codePoints[i - 1] === 0x6c && codePoints[i + 1] === 0x6c;
    case 0x0375: // GREEK LOWER NUMERAL SIGN: followed by Greek
      return i + 1 < chars.length && GREEK.test(chars[i + 1]);
    case 0x05f3:
    case 0x05f4: // HEBREW GERESH / GERSHAYIM: preceded by Hebrew
      return i > 0 && HEBREW.test(chars[i - 1]);
    case 0x30fb: // KATAKANA MIDDLE DOT: somewhere a Hiragana, Katakana or Han character
      return chars.some((c, j) => j !== i && c !== '\u30fb' && KANA_HAN.test(c));
    default:
      if (isArabicIndicDigit(cp)) return !codePoints.some(isExtendedArabicIndicDigit);
      if (isExtendedArabicIndicDigit(cp)) return !codePoints.some(isArabicIndicDigit);
      return false;
  }
}

function checkClass(s: string, cls: StringClass): PrecisFailure | undefined {
  const chars = Array.from(s);
  const codePoints = chars.map((c) => c.codePointAt(0)!);
  for (let i = 0; i < chars.length; i++) {
    const cp = codePoints[i];
    const d = derive(cp, chars[i], cls);
    if (d === 'pvalid') continue;
    if (d === 'contexto' && contextOk(cp, chars, i, codePoints)) continue;
    // CONTEXTJ (ZWJ/ZWNJ) needs Canonical_Combining_Class=Virama, which JavaScript cannot
    // query; refusing is the conservative reading of a rule we cannot check.
    return new PrecisFailure(`U+${cp.toString(16).toUpperCase().padStart(4, '0')} is not allowed`);
  }
  return undefined;
}

/**
 * RFC 5893 Bidi Rule, applied (as RFC 8265 asks) only to strings that contain right-to-left
 * characters. Approximated by script: the string must start with a right-to-left letter,
 * contain no left-to-right letters, and end with a right-to-left letter or a digit
 * (trailing nonspacing marks allowed).
 */
function checkBidi(s: string): PrecisFailure | undefined {
  if (!RTL_LETTER.test(s)) return undefined;
  const chars = Array.from(s);
  if (!RTL_LETTER_ONE.test(chars[0])) return new PrecisFailure('right-to-left string must start with a right-to-left letter');
  for (const c of chars) {
    if (LTR_LETTER_ONE.test(c) && !RTL_LETTER_ONE.test(c)) return new PrecisFailure('right-to-left string contains left-to-right letters');
  }
  let end = chars.length - 1;
  while (end > 0 && /^\p{Mn}$/u.test(chars[end])) end--;
  if (!RTL_LETTER_ONE.test(chars[end]) && !/^\p{Nd}$/u.test(chars[end])) {
    return new PrecisFailure('right-to-left string must end with a right-to-left letter or a digit');
  }
  return undefined;
}

const ASCII_IDENTIFIER = /^[\x21-\x7e]+$/;
const ASCII_FREEFORM = /^[\x20-\x7e]+$/;
const WIDE_OR_NARROW = /[\u3000\uff01-\uffef]/g;
const NON_ASCII_SPACE = /(?!\u0020)\p{Zs}/gu;

/** RFC 8265 §3.3 UsernameCaseMapped enforcement: width map, lowercase, NFC, IdentifierClass, Bidi. */
export function usernameCaseMapped(input: string): string | PrecisFailure {
  if (ASCII_IDENTIFIER.test(input)) return input.toLowerCase();
  if (input.length === 0) return new PrecisFailure('empty');
  // Width mapping (RFC 8265 §3.3.2 rule 1): the <wide>/<narrow> decompositions are exactly
  // what NFKC does to the Halfwidth and Fullwidth Forms block and the ideographic space.
  let s = input.replace(WIDE_OR_NARROW, (c) => c.normalize('NFKC'));
  s = s.toLowerCase().normalize('NFC');
  if (s.length === 0) return new PrecisFailure('empty');
  return checkClass(s, 'identifier') ?? checkBidi(s) ?? s;
}

/** RFC 8265 §4.2 OpaqueString enforcement: non-ASCII spaces to U+0020, NFC, FreeformClass. */
export function opaqueString(input: string): string | PrecisFailure {
  if (ASCII_FREEFORM.test(input)) return input;
  if (input.length === 0) return new PrecisFailure('empty');
  const s = input.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
  return checkClass(s, 'freeform') ?? s;
}

/** UTF-8 length without encoding the string. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
