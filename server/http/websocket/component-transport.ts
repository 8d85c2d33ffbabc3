// An external component (XEP-0114) carried over a WebSocket, as MongooseIM's WebSocket
// endpoint accepts them: the component's first text frame opens
// <stream:stream xmlns='jabber:component:accept' …>, and from then on its frames are the
// pieces of one XML stream, exactly the bytes it would write to a TCP component port. They
// are fed, frame after frame, to one stream-mode tokenizer — the same restricted tokenizer
// and limits as TCP — so a frame may hold several elements or part of one.
//
// What we write: our stream header in one frame, then each element in a frame of its own,
// and `</stream:stream>` (after a stream error, if any) before the close frame.

import type { ParserLimits, XmlStreamHandlers } from '../../../parser-wasm/host/types.ts';
import { XmlStream } from '../../../parser-wasm/host/stream.ts';
import type { TlsInfo, WebSocketConnection } from '../../runtime/types.ts';
import { NS_COMPONENT_ACCEPT } from '../../ns.ts';
import { streamErrorXml, tcpResponseHeader, type ResponseHeader } from '../../streams/header.ts';
import type { StreamCloseError, StreamTransport } from '../../streams/transport.ts';
import { outboundText } from '../outbound.ts';

export interface ComponentWebSocketHandlers extends XmlStreamHandlers {
  onTransportClosed(): void;
}

const encoder = new TextEncoder();

export class ComponentWebSocketTransport implements StreamTransport {
  readonly kind = 'websocket' as const;
  readonly canStartTls = false;
  private readonly xml: XmlStream;
  private handlers: ComponentWebSocketHandlers | undefined;
  private headerWritten = false;
  private closed = false;

  constructor(
    private readonly ws: WebSocketConnection,
    readonly tls: TlsInfo | undefined,
    private readonly maxFrameBytes: number,
  ) {
    this.xml = new XmlStream({
      onStreamOpen: (h) => this.handlers?.onStreamOpen(h),
      onStanza: (s) => this.handlers?.onStanza(s),
      onStreamClose: () => this.handlers?.onStreamClose(),
      onError: (e) => this.handlers?.onError(e),
    });
  }

  start(handlers: ComponentWebSocketHandlers): void {
    this.handlers = handlers;
  }

  get remoteAddress(): string {
    return this.ws.remoteAddress;
  }

  get queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** One WebSocket message: the next piece of the component's stream. */
  onMessage(data: string | Uint8Array): void {
    if (this.closed || !this.handlers) return;
    if (typeof data !== 'string') {
      this.handlers.onError({ condition: 'unsupported-encoding', offset: 0, message: 'binary frames are not used by the XMPP subprotocol' });
      return;
    }
    const bytes = encoder.encode(data);
    if (bytes.length > this.maxFrameBytes) {
      this.handlers.onError({ condition: 'policy-violation', offset: 0, message: `frames are limited to ${this.maxFrameBytes} bytes` });
      return;
    }
    this.xml.feed(bytes);
  }

  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.xml.free();
    this.handlers?.onTransportClosed();
  }

  openStream(header: ResponseHeader): void {
    if (this.closed) return;
    this.headerWritten = true;
    this.ws.send(tcpResponseHeader(NS_COMPONENT_ACCEPT, header));
  }

  send(data: string | Uint8Array[]): void {
    if (this.closed) return;
    this.ws.send(outboundText(data));
  }

  close(error?: StreamCloseError): void {
    if (this.closed) return;
    this.closed = true;
    if (error) this.ws.send(streamErrorXml(error.condition, error.text, 'tcp', error.appCondition));
    if (this.headerWritten) this.ws.send('</stream:stream>');
    this.ws.close(1000);
    this.xml.free();
  }

  startTls(): Promise<TlsInfo> {
    return Promise.reject(new Error('STARTTLS does not apply to WebSocket'));
  }

  restartParser(): void {
    // Component streams never restart.
  }

  setParserLimits(limits: Partial<ParserLimits>): void {
    this.xml.setLimits(limits);
  }

  discardPendingInput(): void {
    // Nothing is pending between frames.
  }
}

/** What the first frames of a WebSocket connection open. */
export type FirstFrameVerdict = 'component' | 'client' | 'undecided';

const COMPONENT_OPENING = '<stream:stream';
/** Text that has not decided by this length never will. */
const MAX_UNDECIDED = 1024;

/**
 * Whether a connection's first frames (joined) open a component stream: after an optional
 * XML declaration and white space, a `<stream:stream` start tag. 'undecided' while the text
 * is still a prefix of that. Only routes the connection: the component stream's tokenizer
 * then checks every byte, the namespaces included.
 */
export function firstFrameVerdict(start: string): FirstFrameVerdict {
  if (start.length > MAX_UNDECIDED) return 'client';
  let text = start.trimStart();
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) return 'undecided';
    text = text.slice(end + 2).trimStart();
  } else if ('<?xml'.startsWith(text)) {
    return text === '' || text.length < 5 ? 'undecided' : 'client';
  }
  if (text.length <= COMPONENT_OPENING.length) return COMPONENT_OPENING.startsWith(text) ? 'undecided' : 'client';
  return /^<stream:stream[\s>]/.test(text) ? 'component' : 'client';
}
