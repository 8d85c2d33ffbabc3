// HTTPS whose TLS the runtime terminates itself, because its HTTP server would hide the
// client certificate (Bun.serve, Deno.serve): a TLS front on the public port proxies each
// connection to a plain HTTP server on loopback, and that server's handler finds the
// connection's address and TLS state again by the request's remote port.
// The fronts are runtime-specific (bun-tls-terminator.ts, node-tls-terminator.ts); how the
// two servers are put together and stopped is not.

import type { HttpServer, TlsInfo } from './types.ts';

/** What the internal handler knows about one proxied connection. */
export interface TerminatedConnection {
  readonly remoteAddress: string;
  readonly tls: TlsInfo;
}

/** A proxied connection by the internal connection's remote port; undefined: not proxied. */
export type ConnectionLookup = (remotePort: number) => TerminatedConnection | undefined;

export interface TerminatorFront {
  readonly port: number;
  lookup: ConnectionLookup;
  stop(): void;
}

export interface InternalServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts the internal server (loopback, kernel-chosen port), then the front that dials it. */
export async function serveBehindTerminator(
  startInternal: (lookup: ConnectionLookup) => InternalServer,
  startFront: (internalPort: number) => TerminatorFront | Promise<TerminatorFront>,
): Promise<HttpServer> {
  let front: TerminatorFront | undefined;
  const internal = startInternal((port) => front?.lookup(port));
  try {
    front = await startFront(internal.port);
  } catch (err) {
    await internal.stop();
    throw err;
  }
  const started = front;
  return {
    port: started.port,
    async stop() {
      started.stop();
      await internal.stop();
    },
  };
}

export interface RequestOrigin {
  readonly remoteAddress: string;
  readonly tls: TlsInfo | undefined;
}

/**
 * Who a request really comes from: its peer, or, on an internal server behind a front, the
 * proxied connection. Undefined when an internal server's peer is not one of the front's
 * connections (someone dialled the internal port): such a request is not served.
 */
export function requestOrigin(peer: { address: string; port: number } | undefined, behindTerminator: ConnectionLookup | undefined): RequestOrigin | undefined {
  if (behindTerminator === undefined) return { remoteAddress: peer?.address ?? '', tls: undefined };
  const conn = peer === undefined ? undefined : behindTerminator(peer.port);
  return conn === undefined ? undefined : { remoteAddress: conn.remoteAddress, tls: conn.tls };
}

export const misdirected = (): Response => new Response('Misdirected Request\n', { status: 421 });
