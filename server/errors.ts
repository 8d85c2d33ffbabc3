// Stanza errors (RFC 6120 §8.3) and stream errors (RFC 6120 §4.9) as values with one
// renderer each. They are plain classes, not Error subclasses: they are returned far more
// often than thrown and need no stack trace. An IQ handler may still throw a StanzaError;
// the dispatcher turns it into the reply.

import { Element } from './xml/element.ts';
import { NS_STANZAS, NS_STREAM, NS_STREAMS } from './ns.ts';

export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** RFC 6120 §8.3.3 conditions with the type each one usually carries. */
export const STANZA_ERROR_DEFAULT_TYPES = {
  'bad-request': 'modify',
  'conflict': 'cancel',
  'feature-not-implemented': 'cancel',
  'forbidden': 'auth',
  'gone': 'cancel',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  'redirect': 'modify',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
} as const satisfies Record<string, StanzaErrorType>;

export type StanzaErrorCondition = keyof typeof STANZA_ERROR_DEFAULT_TYPES;

const STANZA_ERROR_TYPES: ReadonlySet<string> = new Set(['auth', 'cancel', 'continue', 'modify', 'wait']);

export interface StanzaErrorOptions {
  type?: StanzaErrorType;
  text?: string;
  lang?: string;
  /** Application-specific condition element, e.g. <unsupported xmlns='…pubsub#errors'/>. */
  appCondition?: Element;
  /** For gone and redirect: the new address (element text per RFC 6120 §8.3.3.5/14). */
  uri?: string;
  /** JID of the entity that raised the error (the 'by' attribute). */
  by?: string;
}

export class StanzaError {
  readonly condition: StanzaErrorCondition;
  readonly type: StanzaErrorType;
  readonly text: string | undefined;
  readonly lang: string | undefined;
  readonly appCondition: Element | undefined;
  readonly uri: string | undefined;
  readonly by: string | undefined;

  constructor(condition: StanzaErrorCondition, options: StanzaErrorOptions = {}) {
    this.condition = condition;
    this.type = options.type ?? STANZA_ERROR_DEFAULT_TYPES[condition];
    this.text = options.text;
    this.lang = options.lang;
    this.appCondition = options.appCondition;
    this.uri = options.uri;
    this.by = options.by;
  }

  /** The <error/> child of an error stanza. */
  toElement(): Element {
    const error = new Element('error', { type: this.type, by: this.by });
    const cond = error.c(this.condition, { xmlns: NS_STANZAS });
    if (this.uri !== undefined && (this.condition === 'gone' || this.condition === 'redirect')) cond.t(this.uri);
    if (this.text !== undefined) error.c('text', { 'xmlns': NS_STANZAS, 'xml:lang': this.lang ?? 'en' }).t(this.text);
    if (this.appCondition) error.append(this.appCondition.clone());
    return error;
  }

  /**
   * Reads the <error/> child of an error stanza. Unknown or missing conditions become
   * undefined-condition: what a peer sent must never make the reader throw.
   */
  static fromStanza(stanza: Element): StanzaError {
    const error = stanza.getChild('error');
    if (!error) return new StanzaError('undefined-condition', { text: 'error stanza without <error/>' });
    let condition: StanzaErrorCondition = 'undefined-condition';
    let text: string | undefined;
    let lang: string | undefined;
    let uri: string | undefined;
    let appCondition: Element | undefined;
    for (const child of error.elements) {
      if (child.ns !== NS_STANZAS) {
        appCondition ??= child;
      } else if (child.localName === 'text') {
        text = child.text;
        lang = child.attrs['xml:lang'];
      } else if (Object.hasOwn(STANZA_ERROR_DEFAULT_TYPES, child.localName)) {
        condition = child.localName as StanzaErrorCondition;
        if (child.text !== '') uri = child.text;
      }
    }
    const t = error.attrs.type;
    const type = t !== undefined && STANZA_ERROR_TYPES.has(t) ? (t as StanzaErrorType) : undefined;
    return new StanzaError(condition, { type, text, lang, uri, appCondition, by: error.attrs.by });
  }
}

export interface ErrorReplyOptions {
  /** Echo the original payload (RFC 6120 §8.3.1 allows it). Default true. */
  includeOriginal?: boolean;
}

/**
 * The error reply to a stanza: to/from swapped, same id, type='error', the original
 * children (optionally) and the <error/> element. Returns undefined for a stanza that is
 * itself an error — an error is never answered with an error (RFC 6120 §8.3.1).
 */
export function errorReplyFor(stanza: Element, err: StanzaError, options: ErrorReplyOptions = {}): Element | undefined {
  if (stanza.attrs.type === 'error') return undefined;
  const reply = new Element(stanza.name, {
    xmlns: stanza.attrs.xmlns,
    from: stanza.attrs.to,
    to: stanza.attrs.from,
    id: stanza.attrs.id,
    type: 'error',
    'xml:lang': stanza.attrs['xml:lang'],
  });
  if (options.includeOriginal ?? true) {
    for (const child of stanza.children) reply.append(typeof child === 'string' ? child : child.clone());
  }
  reply.append(err.toElement());
  return reply;
}

/** RFC 6120 §4.9.3 stream error conditions. */
export type StreamErrorCondition =
  | 'bad-format'
  | 'bad-namespace-prefix'
  | 'conflict'
  | 'connection-timeout'
  | 'host-gone'
  | 'host-unknown'
  | 'improper-addressing'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'invalid-xml'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'remote-connection-failed'
  | 'reset'
  | 'resource-constraint'
  | 'restricted-xml'
  | 'see-other-host'
  | 'system-shutdown'
  | 'undefined-condition'
  | 'unsupported-encoding'
  | 'unsupported-feature'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

export interface StreamErrorOptions {
  text?: string;
  lang?: string;
  /** For see-other-host: the host (and port) to reconnect to. */
  otherHost?: string;
  appCondition?: Element;
}

export class StreamError {
  readonly condition: StreamErrorCondition;
  readonly text: string | undefined;
  readonly lang: string | undefined;
  readonly otherHost: string | undefined;
  readonly appCondition: Element | undefined;

  constructor(condition: StreamErrorCondition, options: StreamErrorOptions = {}) {
    this.condition = condition;
    this.text = options.text;
    this.lang = options.lang;
    this.otherHost = options.otherHost;
    this.appCondition = options.appCondition;
  }

  /**
   * <stream:error/>. On a TCP stream the 'stream' prefix is declared by the stream header;
   * WebSocket and BOSH framing have no such header, so pass declarePrefix there.
   */
  toElement(options: { declarePrefix?: boolean } = {}): Element {
    const el = new Element('stream:error', options.declarePrefix ? { 'xmlns:stream': NS_STREAM } : undefined);
    const cond = el.c(this.condition, { xmlns: NS_STREAMS });
    if (this.condition === 'see-other-host' && this.otherHost !== undefined) cond.t(this.otherHost);
    if (this.text !== undefined) el.c('text', { 'xmlns': NS_STREAMS, 'xml:lang': this.lang ?? 'en' }).t(this.text);
    if (this.appCondition) el.append(this.appCondition.clone());
    return el;
  }

  toString(): string {
    return this.toElement().toString();
  }
}
