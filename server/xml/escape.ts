// Escaping for text and attribute values the server writes.
//
// Text escapes `&`, `<` and `>` (the last so `]]>` can never appear). Attribute values
// additionally escape both quotes, and TAB/LF/CR as character references so attribute-value
// normalization on the receiving side gives back exactly the original string.
// Characters XML 1.0 cannot carry at all (most C0 controls, U+FFFE/U+FFFF, lone
// surrogates) are refused with a thrown error: writing them would make the stream
// not-well-formed for the peer, and silently dropping them would change the data.

const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/;
const ATTR_SPECIAL = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF\uD800-\uDFFF]/;

export class XmlCharacterError extends TypeError {
  constructor(codePoint: number) {
    super(`character U+${codePoint.toString(16).toUpperCase().padStart(4, '0')} cannot be written in XML`);
  }
}

export function escapeText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  return escapeSlow(s, false);
}

export function escapeAttribute(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  return escapeSlow(s, true);
}

function escapeSlow(s: string, attribute: boolean): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    switch (c) {
      case 0x26: rep = '&amp;'; break;
      case 0x3c: rep = '&lt;'; break;
      case 0x3e: rep = '&gt;'; break;
      case 0x22: if (attribute) rep = '&quot;'; break;
      case 0x27: if (attribute) rep = '&apos;'; break;
      case 0x09: if (attribute) rep = '&#9;'; break;
      case 0x0a: if (attribute) rep = '&#10;'; break;
      case 0x0d: rep = '&#13;'; break; // a raw CR would be normalized away by the reader
      default:
        if (c < 0x20 || c === 0xfffe || c === 0xffff) throw new XmlCharacterError(c);
        if (c >= 0xd800 && c <= 0xdbff) {
          const d = s.charCodeAt(i + 1);
          if (!(d >= 0xdc00 && d <= 0xdfff)) throw new XmlCharacterError(c);
          i++; // a valid pair passes through unchanged
        } else if (c >= 0xdc00 && c <= 0xdfff) {
          throw new XmlCharacterError(c);
        }
    }
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return out + s.slice(last);
}
