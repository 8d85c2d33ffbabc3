// HTTPS with client certificates on Deno. Deno.serve can neither ask for a client
// certificate nor show one to its handler, so a listener that asks for them terminates TLS
// with node:tls (which can) and serves HTTP behind it, as the Bun runtime does:
//
//   client ══TLS══► node:tls server (public port) ──plain TCP, loopback──► Deno.serve (internal port)
//
// Once a client's handshake is done we dial the internal server and record the dialled
// socket's local port with the connection's TLS state; the internal handler finds it again
// by the request's remote port. An entry lives exactly as long as the internal connection
// it names, so a port reused later cannot inherit a certificate. Requests that reach the
// internal port directly have no entry and are refused by the caller.
//
// Only node:net and node:tls are used here; the pipes use stream backpressure, so a peer
// that does not read holds up its own connection and nothing else.

import net from 'node:net';
import tls from 'node:tls';
import type { TlsCredentials, TlsInfo } from './types.ts';
import type { TerminatedConnection } from './behind-terminator.ts';

export interface NodeTlsTerminator {
  readonly port: number;
  /** The connection an internal request came from, by the request's remote port. */
  lookup(internalPort: number): TerminatedConnection | undefined;
  /** Connections currently proxied (tests and metrics). */
  readonly size: number;
  stop(): void;
}

export interface NodeTlsTerminatorOptions {
  hostname: string;
  port: number;
  tls: TlsCredentials;
  /** The internal plain-HTTP server's port on 127.0.0.1. */
  internalPort: number;
  tlsInfo(socket: tls.TLSSocket): TlsInfo;
}

/** Milliseconds a client has to complete its TLS handshake. */
const HANDSHAKE_TIMEOUT_MS = 30_000;

export function startNodeTlsTerminator(options: NodeTlsTerminatorOptions): Promise<NodeTlsTerminator> {
  const table = new Map<number, TerminatedConnection>();
  const open = new Set<net.Socket>();

  const server = tls.createServer(
    {
      cert: options.tls.cert,
      key: options.tls.key,
      ca: options.tls.ca,
      requestCert: true,
      // A client without an acceptable certificate still gets HTTPS (and password logins);
      // whether its certificate counts is decided by the verifier, per connection.
      rejectUnauthorized: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    },
    (client) => {
      open.add(client);
      const entry: TerminatedConnection = { remoteAddress: client.remoteAddress ?? '', tls: options.tlsInfo(client) };
      const internal = net.connect({ host: '127.0.0.1', port: options.internalPort });
      open.add(internal);
      let internalPort = 0;
      const close = () => {
        if (internalPort !== 0) table.delete(internalPort);
        internalPort = 0;
        client.destroy();
        internal.destroy();
        open.delete(client);
        open.delete(internal);
      };
      internal.once('connect', () => {
        internalPort = internal.localPort ?? 0;
        table.set(internalPort, entry);
        // What the client sent before the internal side was up is buffered by the paused
        // pipe, not lost: pipe() starts reading only now.
        client.pipe(internal);
        internal.pipe(client);
      });
      client.pause();
      // Either side ending ends the other once what it sent has been written (pipe's
      // default end: true); an error or a close tears both down.
      client.once('close', close);
      internal.once('close', close);
      client.on('error', close);
      internal.on('error', close);
    },
  );
  // A failed handshake is the client's problem, not the listener's.
  server.on('tlsClientError', (_err, socket) => socket.destroy());

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.hostname, () => {
      server.off('error', reject);
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        lookup: (internalPort) => table.get(internalPort),
        get size() { return table.size; },
        stop() {
          server.close();
          for (const socket of open) socket.destroy();
          open.clear();
          table.clear();
        },
      });
    });
  });
}
