// The WebSocket handshake (RFC 7395 §3.1–3.2): the `xmpp` subprotocol is required and
// browser origins are checked before the upgrade; the stream then runs over the socket.

import type { Hono } from 'hono';
import type { WebSocketConnection } from '../../runtime/types.ts';
import type { HttpBindings } from '../bindings.ts';
import { checkOrigin } from '../origins.ts';
import type { WebSocketOptions } from '../options.ts';
import type { HttpRequestInfo, TlsInfo } from '../../runtime/types.ts';

export const XMPP_SUBPROTOCOL = 'xmpp';

/** Starts the stream logic over an accepted connection; returns its event receivers. */
export type WebSocketStreamFactory = (conn: WebSocketConnection, tls: TlsInfo | undefined) => {
  message(data: string | Uint8Array): void;
  closed(): void;
};

export function websocketRoutes(app: Hono<HttpBindings>, paths: string[], options: WebSocketOptions, start: WebSocketStreamFactory, tls: (info: HttpRequestInfo | undefined) => TlsInfo | undefined): void {
  for (const path of paths) {
    app.get(path, (c) => {
      if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
        return c.text('This is an XMPP WebSocket endpoint (RFC 7395): connect with the "xmpp" subprotocol.\n', 426, { Upgrade: 'websocket' });
      }
      const offered = (c.req.header('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(XMPP_SUBPROTOCOL)) {
        return c.text('the "xmpp" WebSocket subprotocol is required\n', 400);
      }
      const verdict = checkOrigin({ allowed: options.origins }, c.req.raw.headers);
      if (verdict.kind === 'refused') return c.text('origin not allowed\n', 403);
      const runtime = c.env;
      if (!runtime) return c.text('WebSocket is not available on this listener\n', 501);
      const connTls = tls(runtime);
      const response = runtime.upgradeWebSocket(c.req.raw, {
        protocol: XMPP_SUBPROTOCOL,
        open(conn) {
          const stream = start(conn, connTls);
          return { message: (data) => stream.message(data), close: () => stream.closed() };
        },
      });
      // Bun answers the handshake itself once upgrade() succeeded; Hono still wants a Response.
      return response ?? new Response(null);
    });
  }
}
