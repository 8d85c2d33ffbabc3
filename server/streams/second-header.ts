// Spots a second stream header sent on a TCP stream that was not restarted (RFC 6120
// §4.3.3 allows a new header only after STARTTLS or SASL success).
//
// The tokenizer reports depth-1 elements only once complete, and a header never completes:
// to the tokenizer, `<stream:stream …>` after the first header is the start of a stanza
// that will not end, so the client would wait for features until a timeout. This watches
// the bytes between complete units instead: when the first non-space bytes after the
// header or a stanza are `<` + the header's own qualified name and a delimiter, the peer
// is opening a stream again. Only bytes between units are looked at, so a CDATA section
// or text inside a stanza can never match.

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const LT = 0x3c;
const GT = 0x3e;
const QUESTION = 0x3f;
const encoder = new TextEncoder();

export class SecondHeaderWatch {
  /** Bytes fed since the last reset. */
  private fed = 0;
  /** Stream offset where the last complete unit (header or stanza) ended; -1 before the header. */
  private boundary = -1;
  /** Bytes since the boundary while they may still be the start of a header. */
  private candidate: Uint8Array | undefined;
  private marker: Uint8Array | undefined;
  /** Bytes before the header (to find where it ends); bounded, dropped once it is seen. */
  private preHeader: Uint8Array[] = [];
  private preHeaderBytes = 0;

  reset(): void {
    this.fed = 0;
    this.boundary = -1;
    this.candidate = undefined;
    this.marker = undefined;
    this.preHeader = [];
    this.preHeaderBytes = 0;
  }

  /** Call before feeding a chunk to the tokenizer. */
  beforeFeed(chunk: Uint8Array): void {
    if (this.marker === undefined && this.preHeaderBytes < 65536) {
      this.preHeader.push(chunk.slice());
      this.preHeaderBytes += chunk.length;
    }
  }

  /** The tokenizer reported the stream header (while feeding the current chunk). */
  headerSeen(qualifiedName: string): void {
    this.marker = encoder.encode(`<${qualifiedName}`);
    const end = headerEnd(concat(this.preHeader));
    this.preHeader = [];
    this.preHeaderBytes = 0;
    if (end !== undefined) this.unitEnded(end);
  }

  /** A complete stanza ended at this stream offset. */
  unitEnded(offset: number): void {
    this.boundary = offset;
    this.candidate = new Uint8Array(0);
  }

  /**
   * Call after the chunk was fed. True when the bytes since the last complete unit are a
   * new stream header.
   */
  afterFeed(chunk: Uint8Array): boolean {
    const chunkStart = this.fed;
    this.fed += chunk.length;
    if (this.candidate === undefined || this.marker === undefined || this.boundary < 0) return false;
    const fresh = this.boundary >= chunkStart ? chunk.subarray(this.boundary - chunkStart) : chunk;
    const seen = this.boundary >= chunkStart ? fresh : concat([this.candidate, fresh]);
    let i = 0;
    while (i < seen.length && SPACE.has(seen[i]!)) i++;
    const rest = seen.subarray(i);
    const m = this.marker;
    const n = Math.min(rest.length, m.length);
    for (let k = 0; k < n; k++) {
      if (rest[k] !== m[k]) {
        this.candidate = undefined;
        return false;
      }
    }
    if (rest.length > m.length) {
      const next = rest[m.length]!;
      this.candidate = undefined;
      return SPACE.has(next) || next === GT || next === 0x2f;
    }
    // Still a possible prefix: keep what came since the boundary (a few bytes at most).
    this.candidate = rest.slice();
    return false;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Offset just after the header's start tag in bytes the tokenizer already accepted: an
 * optional BOM, whitespace and XML declaration, then the start tag, whose attribute
 * values may hold '>' only inside quotes.
 */
function headerEnd(bytes: Uint8Array): number | undefined {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3;
  for (;;) {
    while (i < bytes.length && SPACE.has(bytes[i]!)) i++;
    if (bytes[i] === LT && bytes[i + 1] === QUESTION) {
      while (i < bytes.length && !(bytes[i] === QUESTION && bytes[i + 1] === GT)) i++;
      i += 2;
      continue;
    }
    break;
  }
  let quote = 0;
  for (; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (quote !== 0) {
      if (b === quote) quote = 0;
    } else if (b === 0x22 || b === 0x27) {
      quote = b;
    } else if (b === GT) {
      return i + 1;
    }
  }
  return undefined;
}
