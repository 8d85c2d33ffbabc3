// A stream carried over a WebSocket (RFC 7395): every text frame is one complete element —
// <open/>, <close/> in the framing namespace, or a stanza/nonza — tokenized on its own as
// a document by the same restricted tokenizer as TCP, then handed to the c2s stream.

import type { ParserLimits, StanzaView, StreamHeader, XmlError } from '../../../parser-wasm/host/types.ts';
import type { TlsInfo, WebSocketConnection } from '../../runtime/types.ts';
import { streamErrorXml, websocketOpen, type ResponseHeader } from '../../streams/header.ts';
import type { StreamCloseError, StreamTransport } from '../../streams/transport.ts';
import { NS_FRAMING } from '../../ns.ts';
import { outboundText, qualifyTopLevel } from '../outbound.ts';
import { FrameReader } from './frames.ts';

export interface WebSocketStreamHandlers {
  onStreamOpen(header: StreamHeader): void;
  onStanza(view: StanzaView): void;
  onStreamClose(): void;
  onError(error: XmlError): void;
  onTransportClosed(): void;
}

const encoder = new TextEncoder();

export class WebSocketTransport implements StreamTransport {
  readonly kind = 'websocket' as const;
  readonly canStartTls = false;
  private handlers: WebSocketStreamHandlers | undefined;
  private readonly reader: FrameReader;
  private closed = false;
  private limits: Partial<ParserLimits> = {};

  constructor(
    private readonly ws: WebSocketConnection,
    readonly tls: TlsInfo | undefined,
    private readonly maxFrameBytes: number,
  ) {
    this.reader = new FrameReader();
  }

  start(handlers: WebSocketStreamHandlers): void {
    this.handlers = handlers;
  }

  get remoteAddress(): string {
    return this.ws.remoteAddress;
  }

  get queuedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /** One WebSocket message from the client. */
  onMessage(data: string | Uint8Array): void {
    if (this.closed || !this.handlers) return;
    if (typeof data !== 'string') {
      // RFC 7395 §3.2: the XMPP subprotocol uses text frames only.
      this.fail('unsupported-encoding', 'binary frames are not used by the XMPP subprotocol');
      return;
    }
    const bytes = encoder.encode(data);
    if (bytes.length > this.maxFrameBytes) {
      this.fail('policy-violation', `frames are limited to ${this.maxFrameBytes} bytes`);
      return;
    }
    const handlers = this.handlers;
    this.reader.read(bytes, {
      element: (view) => {
        if (view.ns === NS_FRAMING && view.local === 'open') handlers.onStreamOpen(frameHeader(view));
        else if (view.ns === NS_FRAMING && view.local === 'close') handlers.onStreamClose();
        else handlers.onStanza(view);
      },
      error: (error) => handlers.onError(error),
    });
  }

  /** The WebSocket closed (client close frame, network loss, idle timeout). */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.free();
    this.handlers?.onTransportClosed();
  }

  openStream(header: ResponseHeader): void {
    if (this.closed) return;
    this.ws.send(websocketOpen(header));
  }

  send(data: string | Uint8Array[]): void {
    if (this.closed) return;
    this.ws.send(qualifyTopLevel(outboundText(data), false));
  }

  close(error?: StreamCloseError): void {
    if (this.closed) return;
    this.closed = true;
    if (error) this.ws.send(streamErrorXml(error.condition, error.text, 'websocket', error.appCondition));
    this.ws.send(`<close xmlns='${NS_FRAMING}'/>`);
    this.ws.close(1000);
    this.reader.free();
  }

  startTls(): Promise<TlsInfo> {
    return Promise.reject(new Error('STARTTLS does not apply to WebSocket'));
  }

  restartParser(): void {
    // Every frame is a document of its own: after a restart the client sends a new <open/>.
  }

  setParserLimits(limits: Partial<ParserLimits>): void {
    this.limits = { ...this.limits, ...limits };
    this.reader.setLimits(this.limits);
  }

  discardPendingInput(): void {
    // Frames are processed one at a time; nothing is pending.
  }

  /** A framing error found here, before the stream logic saw the frame. */
  private fail(condition: XmlError['condition'], text: string): void {
    this.handlers?.onError({ condition, offset: 0, message: text });
  }
}

/** The <open/> frame as the stream header the c2s stream checks (framing 'websocket'). */
function frameHeader(view: StanzaView): StreamHeader {
  const namespaces = new Map<string, string>([['', NS_FRAMING]]);
  return { name: view.name, local: view.local, ns: view.ns, attrs: view.attrs, attr: (n) => view.attr(n), namespaces };
}
