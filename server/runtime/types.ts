// The one small interface between Meerkat and its JavaScript runtime. Everything that
// touches `Bun` or `Deno` globals lives in ./bun.ts or ./deno.ts; the rest of the server
// sees only these types.

export interface TlsCredentials {
  cert: string;          // PEM chain
  key: string;           // PEM
  ca?: string;           // PEM bundle used to verify client certificates
  requestCert?: boolean; // ask the peer for a certificate (XEP-0178)
}

export interface TlsInfo {
  version: string;
  /** RFC 5705 keying material exporter (tls-exporter channel binding, RFC 9266). */
  exportKeyingMaterial(length: number, label: string): Uint8Array | undefined;
  /** DER of our own certificate (tls-server-end-point channel binding, RFC 5929). */
  localCertificate(): Uint8Array | undefined;
  /** DER of the peer's certificate, if it presented one. */
  peerCertificate(): Uint8Array | undefined;
  /** Whether the peer certificate chained to a configured CA. */
  peerAuthorized: boolean;
  peerAuthorizationError: string | undefined;
}

export interface ConnectionEvents {
  data(bytes: Uint8Array): void;
  /** The kernel accepted everything queued; writing may resume. */
  drain(): void;
  close(error?: Error): void;
}

/** One accepted (or dialled) TCP connection, possibly upgraded to TLS. */
export interface TcpConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** TLS state once the connection is encrypted (direct TLS or after startTls). */
  readonly tls: TlsInfo | undefined;
  /** Set the receiver of this connection's events (exactly once, on open). */
  attach(events: ConnectionEvents): void;
  /**
   * Writes bytes. Returns how many bytes are still queued in user space after this call
   * (0 when the kernel took everything), so callers can bound their outbound queue.
   */
  write(data: Uint8Array | string): number;
  readonly queuedBytes: number;
  /** Server-side STARTTLS: resolves when the handshake completes, rejects when it fails. */
  startTls(credentials: TlsCredentials): Promise<TlsInfo>;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping anything queued. */
  destroy(): void;
  /**
   * Stops reading: the peer meets TCP backpressure instead of us buffering (traffic
   * shapers). Bytes already read may still be delivered. Optional for test doubles.
   */
  pause?(): void;
  /** Reads again after pause(). */
  resume?(): void;
}

export interface TcpListenOptions {
  hostname: string;
  port: number;
  tls?: TlsCredentials;
  reusePort?: boolean;
}

export interface TcpListener {
  readonly port: number;
  readonly hostname: string;
  stop(): void;
}

export interface TcpConnectOptions {
  hostname: string;
  port: number;
  tls?: { ca?: string; cert?: string; key?: string; servername?: string; rejectUnauthorized?: boolean };
}

export interface HttpServeOptions {
  hostname: string;
  port: number;
  tls?: TlsCredentials;
  reusePort?: boolean;
  /**
   * A connection with no byte in either direction for this long is closed: idle keep-alives
   * and stalled request bodies. A request whose body is in and whose answer is pending (a
   * BOSH long poll) is not idle: Bun stops the timer while the handler works. Undefined: no
   * idle limit. Deno.serve has no such setting and ignores it.
   */
  idleTimeoutMs?: number;
  /** WebSocket settings for the whole listener (Bun configures them per server). */
  websocket?: {
    /** Pings are sent while idle; no frame or pong for this long closes the connection. */
    idleTimeoutMs: number;
    maxPayloadBytes: number;
  };
}

export interface HttpServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** A WebSocket connection handed to the HTTP side after an upgrade. */
export interface WebSocketConnection {
  readonly remoteAddress: string;
  readonly protocol: string;
  send(text: string): void;
  close(code?: number, reason?: string): void;
  readonly bufferedAmount: number;
}

/** What the HTTP side does with an accepted WebSocket. */
export interface WebSocketEvents {
  message(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface WebSocketUpgrade {
  /** The subprotocol to confirm in Sec-WebSocket-Protocol. */
  protocol: string;
  open(conn: WebSocketConnection): WebSocketEvents;
}

/** Per-request facts only the runtime knows. */
export interface HttpRequestInfo {
  readonly remoteAddress: string;
  /**
   * The TLS state of the connection the request came on, when the runtime can tell: on
   * Bun, only for listeners that ask for client certificates (`tls.requestCert`), which
   * it terminates itself to see them. Undefined otherwise, also for HTTPS.
   */
  readonly tls?: TlsInfo;
  /** Accepts a WebSocket handshake; returns the response to give back (if any). */
  upgradeWebSocket(request: Request, upgrade: WebSocketUpgrade): Response | undefined;
}

export type HttpHandler = (request: Request, info: HttpRequestInfo) => Response | Promise<Response>;

export interface UdpBindOptions {
  hostname: string;
  /** 0 lets the kernel pick a port. */
  port: number;
}

/** A bound UDP socket: one datagram in, one datagram out. */
export interface UdpSocket {
  readonly port: number;
  readonly hostname: string;
  /** Sends one datagram; false when the kernel refused it (full buffer, bad address). */
  send(data: Uint8Array | string, port: number, address: string): boolean;
  close(): void;
}

export type UdpReceiver = (data: Uint8Array, port: number, address: string) => void;

export interface Runtime {
  readonly name: 'bun' | 'deno';
  serveHttp(options: HttpServeOptions, handler: HttpHandler): Promise<HttpServer>;
  listenTcp(options: TcpListenOptions, onConnection: (conn: TcpConnection) => void): Promise<TcpListener>;
  connectTcp(options: TcpConnectOptions): Promise<TcpConnection>;
  bindUdp(options: UdpBindOptions, onDatagram: UdpReceiver): Promise<UdpSocket>;
  /**
   * A stream listener on a unix-domain socket (links between the worker processes of one
   * node, server/cluster/). An existing file at `path` is the caller's to remove first.
   * The listener's port is 0.
   */
  listenUnix?(path: string, onConnection: (conn: TcpConnection) => void): Promise<TcpListener>;
  /** Connects to a unix-domain socket. */
  connectUnix?(path: string): Promise<TcpConnection>;
}
