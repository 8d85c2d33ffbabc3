// Bun implementation of the runtime interface: Bun.listen / Bun.connect sockets with
// server-side STARTTLS through socket.upgradeTLS.

import type {
  ConnectionEvents,
  HttpHandler,
  HttpServeOptions,
  HttpServer,
  WebSocketConnection,
  WebSocketEvents,
  WebSocketUpgrade,
  Runtime,
  TcpConnectOptions,
  TcpConnection,
  TcpListenOptions,
  TcpListener,
  TlsCredentials,
  TlsInfo,
  UdpBindOptions,
  UdpReceiver,
  UdpSocket,
} from './types.ts';
import { startTlsTerminator } from './bun-tls-terminator.ts';
import { misdirected, requestOrigin, serveBehindTerminator, type ConnectionLookup } from './behind-terminator.ts';
import { httpsTlsInfo } from './https-tls-info.ts';

import { concatBytes } from '../bytes.ts';

type BunSocket = import('bun').Socket<BunConnection>;

const encoder = new TextEncoder();

class BunConnection implements TcpConnection {
  remoteAddress = '';
  remotePort = 0;
  localPort = 0;
  tls: TlsInfo | undefined;
  private socket: BunSocket | undefined;
  private events: ConnectionEvents | undefined;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ending = false;
  private closed = false;
  private pendingData: Uint8Array[] = [];
  private handshake: { resolve: (t: TlsInfo) => void; reject: (e: Error) => void } | undefined;

  bind(socket: BunSocket): void {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = (socket as unknown as { remotePort?: number }).remotePort ?? 0;
    this.localPort = (socket as unknown as { localPort?: number }).localPort ?? 0;
  }

  attach(events: ConnectionEvents): void {
    this.events = events;
    // Data that arrived before the stream attached (possible with direct TLS) is replayed.
    const early = this.pendingData;
    this.pendingData = [];
    for (const chunk of early) events.data(chunk);
  }

  get queuedBytes(): number {
    return this.queued + this.batchBytes;
  }

  /**
   * Writes are gathered until the current task ends and leave as one socket write: a
   * chunk read from one client often makes several stanzas for another, and each write
   * costs a TLS record and a system call (the largest item in the routing profile).
   */
  write(data: Uint8Array | string): number {
    if (this.closed || this.ending) return this.queued + this.batchBytes;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    if (bytes.length === 0) return this.queued + this.batchBytes;
    // The caller's bytes may be a view into memory it reuses (the tokenizer's buffer): copy.
    this.batch.push(typeof data === 'string' ? bytes : bytes.slice());
    this.batchBytes += bytes.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushBatch);
    }
    return this.queued + this.batchBytes;
  }

  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private flushScheduled = false;

  /** Writes what write() gathered; also called before anything that must follow it (STARTTLS, end). */
  private readonly flushBatch = (): void => {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const bytes = this.batch.length === 1 ? this.batch[0]! : concatBytes(this.batch);
    this.batch = [];
    this.batchBytes = 0;
    if (this.closed) return;
    if (this.queued > 0 || !this.socket) {
      this.queue.push(bytes);
      this.queued += bytes.length;
      return;
    }
    const n = this.socket.write(bytes);
    if (n < bytes.length) this.enqueue(bytes.subarray(Math.max(n, 0)));
  };

  private enqueue(bytes: Uint8Array): void {
    // The caller's bytes may be a view into memory it reuses (the tokenizer's buffer): copy.
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
  }

  onDrain(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const n = socket.write(head);
      if (n < head.length) {
        const rest = head.subarray(Math.max(n, 0));
        this.queued -= head.length - rest.length;
        this.queue[0] = rest;
        return;
      }
      this.queue.shift();
      this.queued -= head.length;
    }
    if (this.ending) {
      socket.end();
      return;
    }
    this.events?.drain();
  }

  onData(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.events) this.events.data(bytes);
    else this.pendingData.push(bytes.slice());
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.batch = [];
    this.batchBytes = 0;
    this.queue = [];
    this.queued = 0;
    this.handshake?.reject(error ?? new Error('connection closed during TLS handshake'));
    this.handshake = undefined;
    this.events?.close(error);
  }

  onHandshake(socket: BunSocket, success: boolean, authorizationError: Error | null): void {
    const info = tlsInfoOf(socket, authorizationError);
    this.tls = info;
    const pending = this.handshake;
    this.handshake = undefined;
    if (!pending) return;
    if (success) pending.resolve(info);
    else pending.reject(authorizationError ?? new Error('TLS handshake failed'));
  }

  startTls(credentials: TlsCredentials): Promise<TlsInfo> {
    const raw = this.socket;
    if (!raw) return Promise.reject(new Error('not connected'));
    if (this.tls) return Promise.reject(new Error('already encrypted'));
    // <proceed/> must leave in plaintext, before the TLS layer takes the socket.
    this.flushBatch();
    return new Promise<TlsInfo>((resolve, reject) => {
      this.handshake = { resolve, reject };
      const conn = this;
      const [, tlsSocket] = raw.upgradeTLS<BunConnection>({
        data: this,
        tls: bunTlsOptions(credentials),
        socket: {
          data(_s, d) { conn.onData(d); },
          drain() { conn.onDrain(); },
          close(_s, err) { conn.onClose(err); },
          error(_s, err) { conn.onClose(err); },
          handshake(s, ok, err) { conn.onHandshake(s, ok, err); },
        },
      });
      // From now on the plaintext socket only carries ciphertext: everything goes through tlsSocket.
      this.upgraded = true;
      this.socket = tlsSocket;
      if (this.paused) tlsSocket.pause();
    });
  }

  /** True once STARTTLS began: the raw socket's own data events carry ciphertext then. */
  upgraded = false;

  end(): void {
    if (this.closed || this.ending) return;
    this.flushBatch();
    this.ending = true;
    if (this.queued === 0) this.socket?.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.batch = [];
    this.batchBytes = 0;
    this.queue = [];
    this.queued = 0;
    this.socket?.terminate();
  }

  private paused = false;

  pause(): void {
    if (this.closed || this.paused) return;
    this.paused = true;
    this.socket?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.closed) this.socket?.resume();
  }
}

function bunTlsOptions(c: TlsCredentials): import('bun').TLSOptions {
  return {
    cert: c.cert,
    key: c.key,
    ca: c.ca,
    requestCert: c.requestCert ?? false,
    // Verification results are read in the handshake; the stream decides what they mean.
    rejectUnauthorized: false,
  };
}

function tlsInfoOf(socket: import('bun').Socket<unknown>, authorizationError: Error | null): TlsInfo {
  let peerDer: Uint8Array | undefined;
  let localDer: Uint8Array | undefined;
  return {
    version: safe(() => socket.getTLSVersion()) ?? 'unknown',
    exportKeyingMaterial(length: number, label: string): Uint8Array | undefined {
      return safe(() => new Uint8Array(socket.exportKeyingMaterial(length, label, Buffer.alloc(0))));
    },
    localCertificate(): Uint8Array | undefined {
      localDer ??= safe(() => {
        const x = socket.getX509Certificate();
        return x ? new Uint8Array(x.raw) : undefined;
      });
      return localDer;
    },
    peerCertificate(): Uint8Array | undefined {
      peerDer ??= safe(() => {
        const x = socket.getPeerX509Certificate();
        return x ? new Uint8Array(x.raw) : undefined;
      });
      return peerDer;
    },
    peerAuthorized: authorizationError === null && safe(() => socket.getPeerX509Certificate()) !== undefined,
    peerAuthorizationError: authorizationError?.message,
  };
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f() ?? undefined;
  } catch {
    return undefined;
  }
}

const socketHandlers: import('bun').SocketHandler<BunConnection> = {
  open(socket) {
    socket.data.bind(socket);
  },
  data(socket, bytes) {
    if (socket.data.upgraded) return;
    socket.data.onData(bytes);
  },
  drain(socket) {
    if (socket.data.upgraded) return;
    socket.data.onDrain();
  },
  close(socket, error) {
    if (socket.data.upgraded) return;
    socket.data.onClose(error);
  },
  error(socket, error) {
    if (socket.data.upgraded) return;
    socket.data.onClose(error);
  },
  handshake(socket, success, authorizationError) {
    socket.data.onHandshake(socket, success, authorizationError);
  },
};

interface BunSocketData {
  upgrade: WebSocketUpgrade;
  remoteAddress: string;
  events?: WebSocketEvents;
}

type BunWebSocket = import('bun').ServerWebSocket<BunSocketData>;

function bunWebSocketConnection(ws: BunWebSocket): WebSocketConnection {
  return {
    remoteAddress: ws.data.remoteAddress,
    protocol: ws.data.upgrade.protocol,
    send: (text) => { ws.send(text); },
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() { return ws.getBufferedAmount(); },
  };
}

async function bunServeHttp(options: HttpServeOptions, handler: HttpHandler): Promise<HttpServer> {
  // Bun.serve hides the client certificate from its handler: a listener that asks for one
  // terminates TLS itself and serves HTTP behind it (./bun-tls-terminator.ts).
  if (options.tls?.requestCert === true) return serveBehindTlsTerminator(options, options.tls, handler);
  return bunServe(options, handler, undefined);
}

function serveBehindTlsTerminator(options: HttpServeOptions, tls: TlsCredentials, handler: HttpHandler): Promise<HttpServer> {
  return serveBehindTerminator(
    (lookup) => bunServe({ ...options, hostname: '127.0.0.1', port: 0, tls: undefined, reusePort: false }, handler, lookup),
    (internalPort) => startTlsTerminator({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      tls,
      internalPort,
      tlsInfo: (socket, error) => httpsTlsInfo(tlsInfoOf(socket, error)),
    }),
  );
}


function bunServe(options: HttpServeOptions, handler: HttpHandler, behindTerminator: ConnectionLookup | undefined): HttpServer & { port: number } {
  const ws = options.websocket;
  const server = Bun.serve<BunSocketData>({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort,
    tls: options.tls ? bunTlsOptions(options.tls) : undefined,
    // Bun pauses this timer while a request's answer is pending, so BOSH long polls that
    // outlast it are not cut (tests/hostile/http-idle.test.ts).
    idleTimeout: options.idleTimeoutMs === undefined ? 0 : Math.min(255, Math.max(1, Math.ceil(options.idleTimeoutMs / 1000))),
    fetch(request: Request, srv: import('bun').Server<BunSocketData>) {
      const peer = srv.requestIP(request);
      const origin = requestOrigin(peer ?? undefined, behindTerminator);
      if (origin === undefined) return misdirected();
      const { remoteAddress, tls } = origin;
      return handler(request, {
        remoteAddress,
        tls,
        upgradeWebSocket(req, upgrade) {
          const ok = srv.upgrade(req, {
            headers: { 'Sec-WebSocket-Protocol': upgrade.protocol },
            data: { upgrade, remoteAddress },
          });
          return ok ? undefined : new Response('WebSocket upgrade failed', { status: 400 });
        },
      }) as Response;
    },
    websocket: {
      idleTimeout: Math.max(1, Math.round((ws?.idleTimeoutMs ?? 120_000) / 1000)),
      sendPings: true,
      maxPayloadLength: ws?.maxPayloadBytes ?? 1 << 20,
      // RFC 7692 compression is off: compressed frames would dodge the byte limits.
      perMessageDeflate: false,
      open(socket: BunWebSocket) {
        socket.data.events = socket.data.upgrade.open(bunWebSocketConnection(socket));
      },
      message(socket: BunWebSocket, message: string | Buffer) {
        socket.data.events?.message(typeof message === 'string' ? message : new Uint8Array(message));
      },
      close(socket: BunWebSocket, code: number, reason: string) {
        socket.data.events?.close(code, reason);
      },
    },
  } as unknown as Parameters<typeof Bun.serve<BunSocketData>>[0]);
  return {
    port: server.port ?? options.port,
    stop: () => server.stop(true),
  };
}

export const bunRuntime: Runtime = {
  name: 'bun',
  serveHttp: bunServeHttp,

  async listenTcp(options: TcpListenOptions, onConnection: (conn: TcpConnection) => void): Promise<TcpListener> {
    const listener = Bun.listen<BunConnection>({
      hostname: options.hostname,
      port: options.port,
      reusePort: options.reusePort,
      tls: options.tls ? bunTlsOptions(options.tls) : undefined,
      data: undefined as unknown as BunConnection,
      socket: {
        ...socketHandlers,
        open(socket: BunSocket) {
          const conn = new BunConnection();
          socket.data = conn;
          conn.bind(socket);
          onConnection(conn);
        },
      },
    } as unknown as Parameters<typeof Bun.listen<BunConnection>>[0]) as unknown as import('bun').TCPSocketListener<BunConnection>;
    return {
      port: listener.port,
      hostname: listener.hostname,
      stop: () => listener.stop(false),
    };
  },

  async connectTcp(options: TcpConnectOptions): Promise<TcpConnection> {
    const conn = new BunConnection();
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      Bun.connect<BunConnection>({
        hostname: options.hostname,
        port: options.port,
        data: conn,
        tls: options.tls
          ? {
              ca: options.tls.ca,
              cert: options.tls.cert,
              key: options.tls.key,
              serverName: options.tls.servername,
              rejectUnauthorized: options.tls.rejectUnauthorized ?? true,
            }
          : undefined,
        socket: {
          ...socketHandlers,
          open(socket) {
            conn.bind(socket);
            if (!options.tls && !settled) {
              settled = true;
              resolve();
            }
          },
          handshake(socket, success, err) {
            conn.onHandshake(socket, success, err);
            if (settled) return;
            settled = true;
            if (success) resolve();
            else reject(err ?? new Error('TLS handshake failed'));
          },
          connectError(_socket, error) {
            if (settled) return;
            settled = true;
            reject(error);
          },
        },
      }).catch((e: Error) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      });
    });
    return conn;
  },

  async listenUnix(path: string, onConnection: (conn: TcpConnection) => void): Promise<TcpListener> {
    const listener = Bun.listen<BunConnection>({
      unix: path,
      data: undefined as unknown as BunConnection,
      socket: {
        ...socketHandlers,
        open(socket: BunSocket) {
          const conn = new BunConnection();
          socket.data = conn;
          conn.bind(socket);
          onConnection(conn);
        },
      },
    } as unknown as Parameters<typeof Bun.listen<BunConnection>>[0]) as unknown as import('bun').UnixSocketListener<BunConnection>;
    return { port: 0, hostname: path, stop: () => listener.stop(true) };
  },

  async connectUnix(path: string): Promise<TcpConnection> {
    const conn = new BunConnection();
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      Bun.connect<BunConnection>({
        unix: path,
        data: conn,
        socket: {
          ...socketHandlers,
          open(socket) {
            conn.bind(socket);
            if (!settled) {
              settled = true;
              resolve();
            }
          },
          connectError(_socket, error) {
            if (settled) return;
            settled = true;
            reject(error);
          },
        },
      }).catch((e: Error) => {
        if (!settled) {
          settled = true;
          reject(e);
        }
      });
    });
    return conn;
  },

  async bindUdp(options: UdpBindOptions, onDatagram: UdpReceiver): Promise<UdpSocket> {
    const socket = await Bun.udpSocket({
      hostname: options.hostname,
      port: options.port,
      binaryType: 'uint8array',
      socket: {
        data(_s, data, port, address) { onDatagram(data, port, address); },
      },
    });
    return {
      port: socket.port,
      hostname: options.hostname,
      send: (data, port, address) => {
        try {
          return socket.send(data, port, address);
        } catch {
          return false;
        }
      },
      close: () => socket.close(),
    };
  },
};
