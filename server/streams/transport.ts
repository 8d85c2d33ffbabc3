// What a stream state machine needs from the transport carrying it. TCP, WebSocket and
// BOSH each implement this, so one c2s state machine serves all three (the same SASL,
// bind, limits and routing code whatever the framing).

import type { ParserLimits } from '../../parser-wasm/host/types.ts';
import type { TlsInfo } from '../runtime/types.ts';
import type { ResponseHeader, StreamErrorCondition } from './header.ts';
import type { Element } from '../xml/element.ts';

/** A stream error to end with; appCondition is an application-specific child (RFC 6120 §4.9.4). */
export interface StreamCloseError {
  condition: StreamErrorCondition;
  text?: string;
  appCondition?: Element;
}

export type TransportKind = 'tcp' | 'websocket' | 'bosh';

export interface StreamTransport {
  readonly kind: TransportKind;
  readonly remoteAddress: string;
  /** TLS state when the bytes travel encrypted (direct TLS, after STARTTLS, or HTTPS). */
  readonly tls: TlsInfo | undefined;
  /** Whether STARTTLS can be offered (TCP with a certificate, not yet encrypted). */
  readonly canStartTls: boolean;
  /** Writes our stream opening; called for the first header and after every restart. */
  openStream(header: ResponseHeader): void;
  /** Writes one top-level element (serialized text or the parts of a forwarded stanza). */
  send(data: string | Uint8Array[]): void;
  /** Bytes written but not yet taken by the peer/kernel (for the outbound bound). */
  readonly queuedBytes: number;
  /**
   * Ends the stream: an optional stream error, the closing tag, then the connection.
   * `header` is given when no opening was sent yet, so the error can follow a header.
   */
  close(error?: StreamCloseError): void;
  /** STARTTLS on TCP. Everything read after <starttls/> up to here has been discarded. */
  startTls(): Promise<TlsInfo>;
  /** Fresh tokenizer state for a stream restart (after STARTTLS and SASL success). */
  restartParser(): void;
  setParserLimits(limits: Partial<ParserLimits>): void;
  /** Stop processing any more input already received (e.g. bytes after <starttls/>). */
  discardPendingInput(): void;
}
