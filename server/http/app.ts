// The HTTP listener's Hono app: BOSH, WebSocket and XEP-0156 discovery. Both transports
// drive the same C2sStream as TCP; only the framing differs. With the node's guard
// (server/guard/listener-guard.ts) every BOSH session and WebSocket connection is counted
// against the caps, refused while its address is banned, shaped, and reports SASL
// failures and failed component handshakes toward the ban.

import { Hono } from 'hono';
import type { Logger } from '../log.ts';
import type { HttpRequestInfo, TlsInfo, WebSocketConnection } from '../runtime/types.ts';
import { C2sStream } from '../streams/c2s.ts';
import type { C2sEnv } from '../streams/c2s-env.ts';
import type { Element } from '../xml/element.ts';
import type { HttpBindings } from './bindings.ts';
import { BoshEndpoint } from './bosh/endpoint.ts';
import { boshRoutes } from './bosh/route.ts';
import { altConnections, hostMetaJson, hostMetaXml } from './host-meta.ts';
import type { HttpEndpointOptions } from './options.ts';
import { websocketRoutes, type WebSocketStreamFactory } from './websocket/route.ts';
import { ComponentWebSocketTransport, firstFrameVerdict } from './websocket/component-transport.ts';
import { ComponentStream } from '../streams/component.ts';
import type { ComponentEnv } from '../streams/component-env.ts';
import { WebSocketTransport } from './websocket/transport.ts';
import { refuseWebSocket } from './websocket/refuse.ts';
import type { ListenerGuard } from '../guard/listener-guard.ts';
import { CUT_ERRORS } from '../guard/progress-watch.ts';
import type { StreamErrorCondition } from '../errors.ts';

export interface HttpAppDeps {
  readonly log: Logger;
  readonly options: HttpEndpointOptions;
  /** The same environment the TCP listener gives its client streams. */
  readonly c2s: C2sEnv;
  /**
   * Stanzas accepted for a BOSH client that no response carried when its session ended
   * (XEP-0206 §7): store them offline or bounce them. See `bounceUndelivered`.
   */
  undelivered(jid: string | undefined, stanzas: Element[]): void;
  /**
   * External components on the WebSocket endpoint ([listen.http.handlers.websocket.component]);
   * absent: every WebSocket connection is a client.
   */
  readonly component?: ComponentEnv;
  /** The node's guard as this listener sees it; absent (unit tests): nothing is counted or shaped. */
  readonly guard?: ListenerGuard;
}

export interface HttpApp {
  readonly app: Hono<HttpBindings>;
  /** Live BOSH sessions (for metrics and tests). */
  readonly boshSessions: () => number;
  /** Ends every BOSH session with system-shutdown (WebSocket streams are closed by the session manager). */
  shutdown(): void;
}

export function createHttpApp(deps: HttpAppDeps): HttpApp {
  const { options, c2s } = deps;
  const app = new Hono<HttpBindings>();
  // HTTPS terminates in the runtime. On a listener that asks for client certificates the
  // runtime tells each request its connection's TLS state (the peer certificate for SASL
  // EXTERNAL); otherwise streams only know they are encrypted. Never channel-binding data
  // (no -PLUS mechanisms): a BOSH session spans several connections.
  const tls = (info: HttpRequestInfo | undefined): TlsInfo | undefined =>
    options.secure ? info?.tls ?? HTTPS_WITHOUT_DETAILS : undefined;

  const guard = deps.guard;
  let bosh: BoshEndpoint | undefined;
  if (options.bosh) {
    bosh = new BoshEndpoint({
      options: options.bosh,
      log: deps.log,
      isServedHost: (d) => c2s.isServedHost(d),
      defaultHost: c2s.defaultHost,
      bodyLimits: c2s.limits.authenticated,
      createStream: (transport) => new C2sStream(transport, guard?.clientEnv(c2s, transport.remoteAddress, 'bosh') ?? c2s),
      undelivered: (jid, stanzas) => deps.undelivered(jid, stanzas),
      admitSession: guard && ((remoteAddress) => guard.admit(remoteAddress, 'bosh')),
      shaperRate: guard?.shaperRate,
      shaped: guard && (() => guard.guard.noteShaped('bosh')),
    });
    boshRoutes(app, withAlias(options.bosh.path, '/bosh'), options.bosh, bosh, tls);
  }

  const componentStreams = new Set<ComponentStream>();
  if (options.websocket) {
    const ws = options.websocket;
    const startClient = (conn: WebSocketConnection, connTls: TlsInfo | undefined, authenticated: () => void): WebSocketStream => {
      const transport = new WebSocketTransport(conn, connTls, ws.maxFrameBytes);
      const stream = new C2sStream(transport, guard?.clientEnv(c2s, conn.remoteAddress, 'websocket', authenticated) ?? c2s);
      transport.start(stream);
      return { message: (data) => transport.onMessage(data), closed: () => transport.onClosed(), fail: (condition, text) => stream.closeWith(condition, text) };
    };
    const component = deps.component;
    const startComponent = component && ((conn: WebSocketConnection, connTls: TlsInfo | undefined, authenticated: () => void): WebSocketStream => {
      const transport = new ComponentWebSocketTransport(conn, connTls, ws.maxFrameBytes);
      const stream = new ComponentStream(transport, guard?.componentEnv(component, conn.remoteAddress, 'websocket', authenticated) ?? component);
      componentStreams.add(stream);
      transport.start({
        onStreamOpen: (h) => stream.onStreamOpen(h),
        onStanza: (v) => stream.onStanza(v),
        onStreamClose: () => stream.onStreamClose(),
        onError: (e) => stream.onError(e),
        onTransportClosed: () => {
          componentStreams.delete(stream);
          stream.onTransportClosed();
        },
      });
      return { message: (data) => transport.onMessage(data), closed: () => transport.onClosed(), fail: (condition, text) => stream.kick(condition, text) };
    });
    const startStream = (conn: WebSocketConnection, connTls: TlsInfo | undefined, authenticated: () => void): WebSocketStream =>
      startComponent === undefined
        ? startClient(conn, connTls, authenticated)
        : byFirstFrame(conn, c2s.limits.preauthTimeoutMs, c2s.defaultHost, (kind) => (kind === 'component' ? startComponent : startClient)(conn, connTls, authenticated));
    websocketRoutes(app, withAlias(ws.path, '/xmpp-websocket'), ws, (conn, connTls) =>
      guard === undefined ? startStream(conn, connTls, () => {}) : guardedWebSocket(guard, conn, ws.maxFrameBytes, c2s.defaultHost, (authenticated) => startStream(conn, connTls, authenticated)),
    tls);
  }

  const discovery = (c: { req: { url: string } }) =>
    altConnections(new URL(c.req.url), options.secure, options.bosh?.path, options.websocket?.path);
  // Discovery documents are public: any page may read them (XEP-0156 §3.1).
  const publicHeaders = { 'Access-Control-Allow-Origin': '*' };
  app.get('/.well-known/host-meta', (c) => c.body(hostMetaXml(discovery(c)), 200, { ...publicHeaders, 'Content-Type': 'application/xrd+xml; charset=utf-8' }));
  app.get('/.well-known/host-meta.json', (c) => c.body(hostMetaJson(discovery(c)), 200, { ...publicHeaders, 'Content-Type': 'application/json' }));

  return {
    app,
    boshSessions: () => bosh?.sessionCount ?? 0,
    shutdown: () => {
      bosh?.shutdown();
      for (const stream of [...componentStreams]) stream.kick('system-shutdown', 'the server is shutting down');
    },
  };
}

/** A stream running over a WebSocket, as the route and the guard drive it. */
interface WebSocketStream extends ReturnType<WebSocketStreamFactory> {
  /** Ends the stream with a stream error (the guard cut it or its frames overflowed). */
  fail(condition: StreamErrorCondition, text: string): void;
}

/**
 * The guard in front of one WebSocket: counted in (or refused in RFC 7395 framing), its
 * frames through the listener's shaper and the pre-authentication watch, counted out
 * exactly once when the connection closes.
 */
function guardedWebSocket(
  guard: ListenerGuard,
  conn: WebSocketConnection,
  maxFrameBytes: number,
  serverName: string | undefined,
  start: (authenticated: () => void) => WebSocketStream,
): ReturnType<WebSocketStreamFactory> {
  const admission = guard.admit(conn.remoteAddress, 'websocket');
  if (!admission.ok) {
    refuseWebSocket(conn, serverName, admission.condition, admission.text);
    return { message: () => {}, closed: () => {} };
  }
  let stream: WebSocketStream | undefined;
  const gate = guard.frameGate(maxFrameBytes, admission.ticket.ip, {
    deliver: (frame) => stream?.message(frame),
    onCut: (reason) => stream?.fail(CUT_ERRORS[reason].condition, CUT_ERRORS[reason].text),
    onOverflow: () => stream?.fail('policy-violation', 'frames arrive faster than this server accepts them'),
  });
  stream = start(() => gate.markAuthenticated());
  const started = stream;
  return {
    message: (data) => gate.message(data),
    closed: () => {
      gate.end();
      admission.ticket.release();
      started.closed();
    },
  };
}

/**
 * Components and clients share the WebSocket endpoint; the first frame tells them apart
 * (a component opens <stream:stream>, a client sends <open/>). Frames too short to tell are
 * held (up to 1 KiB) and replayed to the stream chosen. Until then nothing runs, so a
 * connection that never speaks is closed after the pre-authentication timeout.
 */
function byFirstFrame(conn: WebSocketConnection, timeoutMs: number, serverName: string | undefined, start: (kind: 'component' | 'client') => WebSocketStream): WebSocketStream {
  let stream: WebSocketStream | undefined;
  let ended = false;
  let held: string[] = [];
  const timer = setTimeout(() => {
    ended = true;
    conn.close(1000, 'no stream was opened');
  }, timeoutMs);
  timer.unref?.();
  return {
    fail(condition, text) {
      if (stream !== undefined) return stream.fail(condition, text);
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      refuseWebSocket(conn, serverName, condition, text);
    },
    message(data) {
      if (ended) return;
      if (stream !== undefined) return stream.message(data);
      // A binary frame goes to the client stream, which refuses it (unsupported-encoding).
      const verdict = typeof data === 'string' ? firstFrameVerdict(held.join('') + data) : 'client';
      if (typeof data === 'string') held.push(data);
      if (verdict === 'undecided') return;
      clearTimeout(timer);
      stream = start(verdict);
      const frames = held;
      held = [];
      for (const frame of frames) stream.message(frame);
      if (typeof data !== 'string') stream.message(data);
    },
    closed() {
      clearTimeout(timer);
      ended = true;
      stream?.closed();
    },
  };
}

function withAlias(path: string, alias: string): string[] {
  return path === alias ? [path] : [path, alias];
}

const HTTPS_WITHOUT_DETAILS: TlsInfo = {
  version: 'unknown',
  exportKeyingMaterial: () => undefined,
  localCertificate: () => undefined,
  peerCertificate: () => undefined,
  peerAuthorized: false,
  peerAuthorizationError: undefined,
};
