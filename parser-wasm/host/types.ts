// The contract between the WASM tokenizer's host side and everything that uses it
// (streams, router, BOSH/WebSocket, benchmarks). Implemented in ./stream.ts.
// See parser-wasm/README.md for the modes, limits, record layout and view lifetimes.

import type { Element } from '../../server/xml/element.ts';

/** RFC 6120 §4.9.3 stream error conditions the tokenizer can raise. */
export type XmlErrorCondition =
  | 'not-well-formed'
  | 'restricted-xml'
  | 'unsupported-encoding'
  | 'bad-namespace-prefix'
  | 'policy-violation';

export interface XmlError {
  condition: XmlErrorCondition;
  /** Byte offset in the stream (counting every byte fed since the last reset). */
  offset: number;
  /** Human-readable reason, e.g. "stanza exceeds 65536 bytes". Never contains input bytes. */
  message: string;
}

/** Limits checked while tokenizing, the moment they are crossed (→ policy-violation). */
export interface ParserLimits {
  maxStanzaBytes: number;       // one depth-1 element, start tag to end tag
  maxStartTagBytes: number;     // one start tag including attributes (also applies to the stream header)
  maxAttributes: number;        // per element
  maxDepth: number;             // nesting inside a stanza (stanza itself = 1)
  maxElementsPerStanza: number;
  maxNameLength: number;        // bytes of a qualified name
}

/** One attribute with its namespace resolved. `ns` is '' for unprefixed attributes. */
export interface XmlAttribute {
  name: string;   // qualified, as written (e.g. "xml:lang", "type")
  local: string;
  prefix: string;
  ns: string;
  value: string;  // decoded (entities, character references, attribute-value normalization)
}

/** The stream header (`<stream:stream …>` or a WebSocket `<open/>`, a BOSH `<body>`). */
export interface StreamHeader {
  name: string;   // qualified name as written
  local: string;
  ns: string;
  attrs: XmlAttribute[];
  attr(name: string): string | undefined;
  /** Namespace declarations made on the header: prefix ('' for default) → URI. */
  namespaces: Map<string, string>;
}

/**
 * A lazy view of one complete depth-1 element. Valid only during the onStanza callback:
 * it reads the tokenizer's records in WASM memory, which the next feed() reuses.
 * Keep data past the callback with `toElement()` or `copyRaw()`.
 */
export interface StanzaView {
  readonly local: string;        // local name ("message", "iq", "presence", …)
  readonly ns: string;           // resolved namespace URI
  readonly name: string;         // qualified name as written
  /** Value of an unprefixed attribute (or a qualified one such as "xml:lang"). */
  attr(name: string): string | undefined;
  readonly attrs: XmlAttribute[];
  /** Prefix as written ('' when none). */
  readonly prefix: string;
  /** Exact original bytes of the element, start tag to end tag. Zero-copy view into WASM memory. */
  readonly raw: Uint8Array;
  /** Stream offset (bytes since the last reset) of the first byte of `raw`. */
  readonly offset: number;
  /** Direct child elements as views (same lifetime rule); document mode uses this for BOSH bodies. */
  children(): StanzaView[];
  copyRaw(): Uint8Array;
  /** Materializes a detached Element tree (xmlns declared wherever the namespace changes). */
  toElement(): Element;
  /**
   * Bytes to forward this stanza unchanged except for the attributes given (e.g. { from, to }):
   * the original bytes with those attributes replaced or inserted in the start tag, plus any
   * namespace declarations or xml:lang inherited from the stream header re-declared, so the
   * result is well-formed on its own. Returns parts to write in order (no concatenation).
   * `options.contentNamespace` moves a stanza in jabber:client / jabber:server /
   * jabber:component:accept into the content namespace of the stream it is written to.
   */
  spliceAttributes(set: Record<string, string | undefined>, options?: { contentNamespace?: string }): Uint8Array[];
}

/**
 * 'stream': a long-lived root (`<stream:stream>`) reported by onStreamOpen/onStreamClose,
 * each depth-1 element reported by onStanza (TCP c2s, s2s, components).
 * 'document': one document after another; each depth-0 element is reported whole by
 * onStanza (WebSocket frames such as `<open/>`, BOSH `<body/>`). onStreamOpen/onStreamClose
 * are never called in this mode.
 */
export type XmlStreamMode = 'stream' | 'document';

export interface XmlStreamOptions {
  mode?: XmlStreamMode;
  limits?: Partial<ParserLimits>;
}

export interface XmlStreamHandlers {
  onStreamOpen(header: StreamHeader): void;
  onStanza(stanza: StanzaView): void;
  onStreamClose(): void;
  /** After an error nothing more of the stream is processed until reset(). */
  onError(error: XmlError): void;
}
