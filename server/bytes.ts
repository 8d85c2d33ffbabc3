// Joining byte parts: a forwarded stanza is written as several parts (original bytes with
// attributes spliced in) that may point into tokenizer memory reused by the next feed.

/** One array holding the parts in order (always a new array the caller owns). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The bytes of a stanza as a value the caller owns (text stays text). */
export function ownedBytes(parts: string | readonly Uint8Array[]): string | Uint8Array {
  return typeof parts === 'string' ? parts : concatBytes(parts);
}
