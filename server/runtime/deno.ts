// Deno implementation of the runtime interface, on Deno's Node-compatible net/tls
// modules: Deno.startTls is client-side only, while node:tls can wrap an accepted
// socket as a TLS server for STARTTLS.

import { Buffer } from 'node:buffer';
import net from 'node:net';
import tls from 'node:tls';
import dgram from 'node:dgram';
import type {
  ConnectionEvents,
  HttpHandler,
  HttpServeOptions,
  HttpServer,
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
import { httpsTlsInfo } from './https-tls-info.ts';
import { startNodeTlsTerminator } from './node-tls-terminator.ts';
import { misdirected, requestOrigin, serveBehindTerminator, type ConnectionLookup } from './behind-terminator.ts';

class NodeConnection implements TcpConnection {
  remoteAddress: string;
  remotePort: number;
  localPort: number;
  tls: TlsInfo | undefined;
  private socket: net.Socket;
  private events: ConnectionEvents | undefined;
  private early: Uint8Array[] = [];
  private closed = false;

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    this.listen(socket);
    if (socket instanceof tls.TLSSocket) this.tls = tlsInfoOf(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (d: Uint8Array) => {
      if (socket !== this.socket || this.closed) return;
      if (this.events) this.events.data(d);
      else this.early.push(d);
    });
    socket.on('drain', () => socket === this.socket && this.events?.drain());
    socket.on('close', () => socket === this.socket && this.finish());
    socket.on('error', (e: Error) => socket === this.socket && this.finish(e));
  }

  private finish(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.events?.close(error);
  }

  attach(events: ConnectionEvents): void {
    this.events = events;
    for (const d of this.early.splice(0)) events.data(d);
  }

  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  write(data: Uint8Array | string): number {
    if (this.closed) return 0;
    // node:net may keep a reference to the buffer until it is flushed: copy views.
    this.socket.write(typeof data === 'string' ? data : data.slice());
    return this.socket.writableLength;
  }

  startTls(credentials: TlsCredentials): Promise<TlsInfo> {
    return new Promise((resolve, reject) => {
      // The TLS layer must be the raw socket's only reader: with our listener still
      // attached, the ClientHello can be delivered to us instead of to the handshake.
      this.socket.removeAllListeners('data');
      this.socket.pause();
      const secure = new tls.TLSSocket(this.socket, {
        isServer: true,
        cert: credentials.cert,
        key: credentials.key,
        ca: credentials.ca,
        requestCert: credentials.requestCert ?? false,
        rejectUnauthorized: false,
      });
      this.socket = secure;
      this.listen(secure);
      secure.once('secure', () => {
        this.tls = tlsInfoOf(secure, credentials.requestCert === true ? chainVerdict(secure) : undefined);
        resolve(this.tls);
      });
      secure.once('error', reject);
    });
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}

/**
 * The TLS library's chain verdict for a client certificate on a server-side TLSSocket made
 * by hand (STARTTLS). Only a tls.Server sets `authorized` on its sockets; for ours we ask
 * the handle as tls.Server itself does once the handshake is done: no certificate, or a
 * verification error, is not authorized. Without that accessor, nothing is.
 */
function chainVerdict(socket: tls.TLSSocket): { authorized: boolean; error: string | undefined } {
  const handle = (socket as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
  if (typeof handle?.verifyError !== 'function') return { authorized: false, error: 'no verification result from the TLS layer' };
  if (socket.getPeerCertificate()?.raw === undefined) return { authorized: false, error: undefined };
  const error = handle.verifyError();
  if (error === null || error === undefined || error === '') return { authorized: true, error: undefined };
  return { authorized: false, error: String((error as { code?: string }).code ?? error) };
}

function tlsInfoOf(socket: tls.TLSSocket, verdict?: { authorized: boolean; error: string | undefined }): TlsInfo {
  return {
    version: socket.getProtocol() ?? 'unknown',
    exportKeyingMaterial: (length, label) => {
      try {
        return new Uint8Array(socket.exportKeyingMaterial(length, label, Buffer.alloc(0)));
      } catch {
        return undefined;
      }
    },
    localCertificate: () => {
      const c = socket.getCertificate() as { raw?: Uint8Array } | null;
      return c?.raw ? new Uint8Array(c.raw) : undefined;
    },
    peerCertificate: () => {
      const c = socket.getPeerCertificate() as { raw?: Uint8Array } | null;
      return c?.raw ? new Uint8Array(c.raw) : undefined;
    },
    peerAuthorized: verdict?.authorized ?? socket.authorized,
    peerAuthorizationError: verdict !== undefined ? verdict.error : socket.authorizationError ? String(socket.authorizationError) : undefined,
  };
}

// Deno.serve / Deno.upgradeWebSocket, reached through globalThis so this file still
// type-checks under Bun's types.
interface DenoHttpServer {
  addr: { port: number };
  shutdown(): Promise<void>;
}

interface DenoHttpApi {
  serve(options: Record<string, unknown>, handler: (req: Request, info: { remoteAddr: { hostname: string; port: number } }) => Response | Promise<Response>): DenoHttpServer;
  upgradeWebSocket(req: Request, options: { protocol?: string; idleTimeout?: number }): { socket: WebSocket; response: Response };
}

async function denoServeHttp(options: HttpServeOptions, handler: HttpHandler): Promise<HttpServer> {
  // Deno.serve can neither ask for a client certificate nor show one to its handler: a
  // listener that asks for them terminates TLS with node:tls and serves HTTP behind it.
  if (options.tls?.requestCert === true) return serveBehindTlsTerminator(options, options.tls, handler);
  const server = denoServe(options, handler, undefined);
  return { port: server.addr.port, stop: () => server.shutdown() };
}

function serveBehindTlsTerminator(options: HttpServeOptions, credentials: TlsCredentials, handler: HttpHandler): Promise<HttpServer> {
  return serveBehindTerminator(
    (lookup) => {
      const internal = denoServe({ ...options, hostname: '127.0.0.1', port: 0, tls: undefined, reusePort: false }, handler, lookup);
      return { port: internal.addr.port, stop: () => internal.shutdown() };
    },
    (internalPort) => startNodeTlsTerminator({
      hostname: options.hostname,
      port: options.port,
      tls: credentials,
      internalPort,
      tlsInfo: (socket) => httpsTlsInfo(tlsInfoOf(socket)),
    }),
  );
}


function denoServe(options: HttpServeOptions, handler: HttpHandler, behindTerminator: ConnectionLookup | undefined): DenoHttpServer {
  const deno = (globalThis as unknown as { Deno: DenoHttpApi }).Deno;
  const idleSeconds = Math.max(1, Math.round((options.websocket?.idleTimeoutMs ?? 120_000) / 1000));
  const maxPayload = options.websocket?.maxPayloadBytes ?? 1 << 20;
  return deno.serve(
    {
      hostname: options.hostname,
      port: options.port,
      cert: options.tls?.cert,
      key: options.tls?.key,
      reusePort: options.reusePort,
      onListen: () => {},
    },
    (request, info) => {
      const origin = requestOrigin({ address: info.remoteAddr.hostname, port: info.remoteAddr.port }, behindTerminator);
      if (origin === undefined) return misdirected();
      const { remoteAddress, tls } = origin;
      return handler(request, {
        remoteAddress,
        tls,
        upgradeWebSocket(req, upgrade) {
          // idleTimeout makes Deno ping and close a peer that stops answering.
          const { socket, response } = deno.upgradeWebSocket(req, { protocol: upgrade.protocol, idleTimeout: idleSeconds });
          socket.onopen = () => {
            const events = upgrade.open({
              remoteAddress,
              protocol: upgrade.protocol,
              send: (text) => socket.send(text),
              close: (code, reason) => socket.close(code, reason),
              get bufferedAmount() { return socket.bufferedAmount; },
            });
            socket.onmessage = (e) => {
              const data = typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer);
              if ((typeof data === 'string' ? data.length : data.byteLength) > maxPayload) socket.close(1009, 'frame too large');
              else events.message(data);
            };
            socket.onclose = (e) => events.close(e.code, e.reason);
          };
          return response;
        },
      });
    },
  );
}

export const denoRuntime: Runtime = {
  name: 'deno',
  serveHttp: denoServeHttp,

  listenTcp(options: TcpListenOptions, onConnection: (conn: TcpConnection) => void): Promise<TcpListener> {
    const server = options.tls
      ? tls.createServer(
          { cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, requestCert: options.tls.requestCert ?? false, rejectUnauthorized: false },
          (s) => onConnection(new NodeConnection(s)),
        )
      : net.createServer((s) => onConnection(new NodeConnection(s)));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.hostname, () => {
        const addr = server.address() as net.AddressInfo;
        resolve({ port: addr.port, hostname: options.hostname, stop: () => server.close() });
      });
    });
  },

  connectTcp(options: TcpConnectOptions): Promise<TcpConnection> {
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ host: options.hostname, port: options.port, ...options.tls, servername: options.tls.servername })
        : net.connect(options.port, options.hostname);
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new NodeConnection(socket)));
      socket.once('error', reject);
    });
  },

  listenUnix(path: string, onConnection: (conn: TcpConnection) => void): Promise<TcpListener> {
    const server = net.createServer((s) => onConnection(new NodeConnection(s)));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve({ port: 0, hostname: path, stop: () => server.close() }));
    });
  },

  connectUnix(path: string): Promise<TcpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('connect', () => resolve(new NodeConnection(socket)));
      socket.once('error', reject);
    });
  },

  bindUdp(options: UdpBindOptions, onDatagram: UdpReceiver): Promise<UdpSocket> {
    const socket = dgram.createSocket(options.hostname.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (msg: Uint8Array, rinfo: { port: number; address: string }) => onDatagram(new Uint8Array(msg), rinfo.port, rinfo.address));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.port, options.hostname, () => {
        socket.off('error', reject);
        // A send error on a datagram socket must not take the process down.
        socket.on('error', () => {});
        resolve({
          port: socket.address().port,
          hostname: options.hostname,
          send: (data, port, address) => {
            socket.send(data, port, address);
            return true;
          },
          close: () => socket.close(),
        });
      });
    });
  },
};
