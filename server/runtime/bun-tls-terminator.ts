// HTTPS with client certificates on Bun. Bun.serve can ask for a client certificate
// (tls.requestCert) but shows neither the certificate nor the TLS session to its fetch
// handler. Bun.listen sockets do (getPeerX509Certificate), so when an HTTPS listener asks
// for client certificates we terminate TLS ourselves:
//
//   client ══TLS══► Bun.listen (public port) ──plain TCP, loopback──► Bun.serve (internal port)
//
// For each accepted connection, once its handshake is done, we dial the internal server
// and record the dialled socket's local port with the connection's TLS state. The internal
// server's handler recovers it from the request's remote port (server.requestIP). An entry
// lives exactly as long as the internal connection it names, so a port reused later cannot
// inherit a certificate.
//
// The internal server listens on 127.0.0.1 only, on a kernel-chosen port; anything else on
// this machine that connects to it directly has no entry, and its requests are answered
// 421 before they reach the handler.

import type { TlsCredentials, TlsInfo } from './types.ts';
import type { TerminatedConnection } from './behind-terminator.ts';

type BunSocket<T> = import('bun').Socket<T>;

export interface TlsTerminator {
  readonly port: number;
  /** The connection an internal request came from, by the request's remote port. */
  lookup(internalPort: number): TerminatedConnection | undefined;
  /** Connections currently proxied (tests and metrics). */
  readonly size: number;
  stop(): void;
}

export interface TlsTerminatorOptions {
  hostname: string;
  port: number;
  reusePort?: boolean;
  tls: TlsCredentials;
  /** The internal plain-HTTP server's port on 127.0.0.1. */
  internalPort: number;
  /** TLS state of a finished handshake (runtime-specific accessors). */
  tlsInfo(socket: BunSocket<unknown>, authorizationError: Error | null): TlsInfo;
}

/** Seconds a client has to complete its TLS handshake. */
const HANDSHAKE_TIMEOUT_SECONDS = 30;

/** Bytes queued towards one side before the connection is cut (a peer that does not read). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** One direction of the pipe: writes, queueing what the socket did not take. */
class Outbound {
  private queue: Uint8Array[] = [];
  private queued = 0;

  constructor(private readonly onOverflow: () => void) {}

  socket: BunSocket<unknown> | undefined;

  write(bytes: Uint8Array): void {
    if (this.socket === undefined || this.queued > 0) return this.enqueue(bytes);
    const n = this.socket.write(bytes);
    if (n < bytes.length) this.enqueue(bytes.subarray(Math.max(n, 0)));
  }

  drain(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
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
  }

  get empty(): boolean {
    return this.queued === 0;
  }

  private enqueue(bytes: Uint8Array): void {
    // Bun reuses the buffer it hands to data(): keep a copy.
    this.queue.push(bytes.slice());
    this.queued += bytes.length;
    if (this.queued > MAX_QUEUED_BYTES) this.onOverflow();
  }
}

/** One client connection and the internal connection carrying its requests. */
class Pipe {
  readonly toClient: Outbound;
  readonly toInternal: Outbound;
  client: BunSocket<Pipe> | undefined;
  internal: BunSocket<Pipe> | undefined;
  internalPort = 0;
  closed = false;
  /** The client closed: end the internal side once what it sent has been written. */
  private clientEnded = false;
  /** The internal side closed with responses still queued: end the client after they drain. */
  endClientAfterDrain = false;

  constructor(private readonly table: Map<number, TerminatedConnection>) {
    this.toClient = new Outbound(() => this.close());
    this.toInternal = new Outbound(() => this.close());
  }

  internalOpened(socket: BunSocket<Pipe>, entry: TerminatedConnection): void {
    if (this.closed) {
      socket.terminate();
      return;
    }
    this.internal = socket;
    this.internalPort = socket.localPort;
    this.table.set(this.internalPort, entry);
    this.toInternal.socket = socket as BunSocket<unknown>;
    this.toInternal.drain();
    if (this.clientEnded && this.toInternal.empty) socket.end();
  }

  internalDrained(): void {
    this.toInternal.drain();
    if (this.clientEnded && this.toInternal.empty) this.internal?.end();
  }

  clientClosed(): void {
    this.clientEnded = true;
    if (this.internal === undefined) return this.close();
    if (this.toInternal.empty) this.internal.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.internalPort !== 0) this.table.delete(this.internalPort);
    this.client?.end();
    this.internal?.end();
  }

  internalClosed(): void {
    if (this.internalPort !== 0) this.table.delete(this.internalPort);
    this.internalPort = 0;
    if (this.closed) return;
    this.closed = true;
    // Responses already queued for the client still go out before the end.
    if (this.toClient.empty) this.client?.end();
    else this.endClientAfterDrain = true;
  }
}

export function startTlsTerminator(options: TlsTerminatorOptions): TlsTerminator {
  const table = new Map<number, TerminatedConnection>();
  const pipes = new Set<Pipe>();

  const dialInternal = (pipe: Pipe, entry: TerminatedConnection): void => {
    Bun.connect<Pipe>({
      hostname: '127.0.0.1',
      port: options.internalPort,
      data: pipe,
      socket: {
        open(socket) { pipe.internalOpened(socket, entry); },
        data(_socket, bytes) { pipe.toClient.write(bytes); },
        drain() { pipe.internalDrained(); },
        close() { pipe.internalClosed(); },
        error() { pipe.internalClosed(); },
        connectError() { pipe.close(); },
      },
    }).catch(() => pipe.close());
  };

  const clientHandlers: import('bun').SocketHandler<Pipe> = {
    open(socket) {
      const pipe = new Pipe(table);
      pipe.client = socket;
      pipe.toClient.socket = socket as BunSocket<unknown>;
      socket.data = pipe;
      pipes.add(pipe);
      // A connection that never finishes its handshake is not kept (Bun.serve has no such limit to inherit).
      socket.timeout(HANDSHAKE_TIMEOUT_SECONDS);
    },
    timeout(socket) {
      if (socket.data.internal === undefined) socket.data.close();
    },
    handshake(socket, success, authorizationError) {
      const pipe = socket.data;
      if (!success) {
        pipe.close();
        return;
      }
      socket.timeout(0);
      dialInternal(pipe, { remoteAddress: socket.remoteAddress, tls: options.tlsInfo(socket as BunSocket<unknown>, authorizationError) });
    },
    data(socket, bytes) { socket.data.toInternal.write(bytes); },
    drain(socket) {
      const pipe = socket.data;
      pipe.toClient.drain();
      if (pipe.endClientAfterDrain && pipe.toClient.empty) socket.end();
    },
    close(socket) {
      pipes.delete(socket.data);
      socket.data.clientClosed();
    },
    error(socket) {
      pipes.delete(socket.data);
      socket.data.clientClosed();
    },
  };

  const listener = Bun.listen<Pipe>({
    hostname: options.hostname,
    port: options.port,
    reusePort: options.reusePort,
    tls: {
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.tls.ca,
      requestCert: true,
      // A client without an acceptable certificate still gets HTTPS (and password logins);
      // whether its certificate counts is decided by the verifier, per connection.
      rejectUnauthorized: false,
    },
    socket: clientHandlers,
  } as unknown as Parameters<typeof Bun.listen<Pipe>>[0]) as unknown as import('bun').TCPSocketListener<Pipe>;

  return {
    port: listener.port,
    lookup: (internalPort) => table.get(internalPort),
    get size() { return table.size; },
    stop() {
      listener.stop(true);
      for (const pipe of [...pipes]) pipe.close();
      pipes.clear();
    },
  };
}
