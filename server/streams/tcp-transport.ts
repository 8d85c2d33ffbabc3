// A stream carried over a TCP connection (plain, STARTTLS or direct TLS): feeds the
// tokenizer with what the socket reads and writes <stream:stream> framing.

import type { ParserLimits, XmlStreamHandlers } from '../../parser-wasm/host/types.ts';
import { XmlStream } from '../../parser-wasm/host/stream.ts';
import type { TcpConnection, TlsCredentials, TlsInfo } from '../runtime/types.ts';
import { streamErrorXml, tcpResponseHeader, type ResponseHeader } from './header.ts';
import type { StreamCloseError, StreamTransport } from './transport.ts';
import { SecondHeaderWatch } from './second-header.ts';
import { concatBytes } from '../bytes.ts';

export interface TcpStreamHandlers extends XmlStreamHandlers {
  onTransportClosed(): void;
}

export class TcpTransport implements StreamTransport {
  readonly kind = 'tcp' as const;
  private readonly xml: XmlStream;
  private handlers: TcpStreamHandlers | undefined;
  private inFeed = false;
  private discarding = false;
  private resetBeforeNextFeed = false;
  private closed = false;
  private headerWritten = false;
  private limits: Partial<ParserLimits> = {};
  private readonly secondHeader = new SecondHeaderWatch();

  constructor(
    private readonly conn: TcpConnection,
    private readonly contentNamespace: string,
    private readonly startTlsCredentials: TlsCredentials | undefined,
  ) {
    // Events pass through a gate so input can be discarded mid-chunk (STARTTLS, restarts).
    this.xml = new XmlStream({
      onStreamOpen: (h) => {
        this.secondHeader.headerSeen(h.name);
        if (!this.discarding) this.handlers?.onStreamOpen(h);
      },
      onStanza: (s) => {
        this.secondHeader.unitEnded(s.offset + s.raw.length);
        if (!this.discarding) this.handlers?.onStanza(s);
      },
      onStreamClose: () => { if (!this.discarding) this.handlers?.onStreamClose(); },
      onError: (e) => { if (!this.discarding) this.handlers?.onError(e); },
    });
  }

  /** Connects the stream logic and starts reading. */
  start(handlers: TcpStreamHandlers): void {
    this.handlers = handlers;
    this.conn.attach({
      data: (bytes) => this.onData(bytes),
      drain: () => {},
      close: () => this.onClosed(),
    });
  }

  private onData(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.resetBeforeNextFeed) {
      this.resetBeforeNextFeed = false;
      this.discarding = false;
      this.resetParser();
    }
    if (this.discarding) return;
    this.inFeed = true;
    try {
      this.secondHeader.beforeFeed(bytes);
      this.xml.feed(bytes);
    } finally {
      this.inFeed = false;
    }
    if (this.secondHeader.afterFeed(bytes) && !this.discarding) {
      this.handlers?.onError({ condition: 'policy-violation', offset: 0, message: 'a second stream header was sent without a stream restart' });
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.xml.free();
    this.handlers?.onTransportClosed();
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  get tls(): TlsInfo | undefined {
    return this.conn.tls;
  }

  get canStartTls(): boolean {
    return this.startTlsCredentials !== undefined && this.conn.tls === undefined;
  }

  get queuedBytes(): number {
    return this.conn.queuedBytes;
  }

  openStream(header: ResponseHeader): void {
    this.headerWritten = true;
    this.conn.write(tcpResponseHeader(this.contentNamespace, header));
  }

  send(data: string | Uint8Array[]): void {
    if (this.closed) return;
    if (typeof data === 'string' || data.length === 1) this.conn.write(typeof data === 'string' ? data : data[0]!);
    // One write for the parts of a forwarded stanza. Written part by part, a stanza would
    // leave as several TCP segments or TLS records, one system call each; and clients whose
    // parser holds back a stanza until more bytes arrive after it (expat's reparse deferral,
    // as in Debian's slixmpp 1.8) would see the last stanza of a burst only with the next one.
    else this.conn.write(concatBytes(data));
  }

  close(error?: StreamCloseError): void {
    if (this.closed) return;
    this.discarding = true;
    if (error) this.conn.write(streamErrorXml(error.condition, error.text, 'tcp', error.appCondition));
    if (this.headerWritten) this.conn.write('</stream:stream>');
    this.conn.end();
  }

  startTls(): Promise<TlsInfo> {
    if (!this.startTlsCredentials) return Promise.reject(new Error('no certificate for STARTTLS'));
    // The next bytes we see are the first decrypted ones: they start a fresh stream.
    this.discarding = true;
    this.resetBeforeNextFeed = true;
    return this.conn.startTls(this.startTlsCredentials);
  }

  restartParser(): void {
    if (this.inFeed) {
      this.discarding = true;
      this.resetBeforeNextFeed = true;
    } else {
      this.resetParser();
      this.discarding = false;
    }
  }

  /** A reset keeps the limits the stream chose (they depend on authentication, not on restarts). */
  private resetParser(): void {
    this.xml.reset();
    this.secondHeader.reset();
    this.xml.setLimits(this.limits);
  }

  setParserLimits(limits: Partial<ParserLimits>): void {
    this.limits = { ...this.limits, ...limits };
    this.xml.setLimits(limits);
  }

  discardPendingInput(): void {
    this.discarding = true;
    this.resetBeforeNextFeed = true;
  }
}

