// Constant strings for the short words stanzas repeat all the time: element names a router
// looks at and the values of `type`. Matching the bytes against a word or two is cheaper
// than making a new string, and every reader gets the same string object back.

/** Words this long or shorter are looked up; longer ones never are. */
export const MAX_INTERNED_LENGTH = 16;

const WORDS = [
  // stanza and common child element names
  'message', 'presence', 'iq', 'body', 'subject', 'thread', 'error', 'show', 'status',
  'priority', 'query', 'x', 'c', 'active', 'composing', 'paused', 'inactive', 'gone',
  'origin-id', 'stanza-id', 'request', 'received', 'delay', 'ping', 'enable', 'r', 'a',
  // message, presence and iq types (RFC 6121 §5.2.2, §4.7.1; RFC 6120 §8.2.3)
  'chat', 'groupchat', 'headline', 'normal', 'get', 'set', 'result', 'unavailable',
  'subscribe', 'subscribed', 'unsubscribe', 'unsubscribed', 'probe',
  // presence show values, common xml:lang values
  'away', 'dnd', 'xa', 'en',
];

const NONE: readonly string[] = [];

/** Candidates by (length, first byte): one or two words each, most slots empty. */
const TABLE: (readonly string[])[] = new Array<readonly string[]>((MAX_INTERNED_LENGTH + 1) << 7).fill(NONE);
for (const word of WORDS) {
  const key = (word.length << 7) | word.charCodeAt(0);
  TABLE[key] = [...TABLE[key], word];
}

/**
 * The constant string for the bytes [start, start + length) of `u8` if they spell one of
 * the words above, else undefined. Any bytes may be given: a byte >= 0x80 never matches.
 */
export function internedAscii(u8: Uint8Array, start: number, length: number): string | undefined {
  if (length > MAX_INTERNED_LENGTH || length === 0) return undefined;
  const first = u8[start];
  if (first >= 0x80) return undefined;
  const candidates = TABLE[(length << 7) | first];
  for (let w = 0; w < candidates.length; w++) {
    const word = candidates[w];
    let i = 1;
    while (i < length && word.charCodeAt(i) === u8[start + i]) i++;
    if (i === length) return word;
  }
  return undefined;
}
