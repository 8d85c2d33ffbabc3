// Settings of the HTTP endpoints, in the units the code uses (milliseconds, bytes).
// Built from a [[listen.http]] table by `httpOptionsFromConfig`, or directly by tests.

import type { HttpListenerConfig } from '../config/listen.ts';

export interface BoshOptions {
  /** Where BOSH is served; `/bosh` is an alias. */
  path: string;
  /** Longest `wait` we grant; a client asking more gets this. */
  maxWaitMs: number;
  /** Most requests we hold at once (`hold`). */
  maxHold: number;
  /** Most simultaneous requests (`requests`); at least hold + 1. */
  maxRequests: number;
  /** Session ends this long after its last request was answered, with none waiting. */
  inactivityMs: number;
  /** Shortest interval between two empty polls answered at once (`polling`). */
  pollingMs: number;
  /** Longest `pause` a client may ask for (`maxpause`). */
  maxPauseMs: number;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Bytes of stanzas queued for a session with no request to answer before it is closed. */
  maxQueuedBytes: number;
  /** A response unacknowledged this long after it was sent is reported (XEP-0124 §9.3). */
  reportAfterMs: number;
  /** Terminated SIDs remembered so they are never reused. */
  rememberTerminated: number;
  /** Live sessions on this listener. */
  maxSessions: number;
  /** Allowed browser origins for CORS ("*" for all); empty: same-origin only. */
  corsOrigins: readonly string[];
}

export interface WebSocketOptions {
  /** Where the WebSocket endpoint is; `/xmpp-websocket` is an alias. */
  path: string;
  /** Allowed browser origins; empty: same-origin pages and non-browser clients only. */
  origins: readonly string[];
  /** Close a connection that has sent nothing (not even a pong) for this long. */
  idleTimeoutMs: number;
  /** Largest frame accepted, in bytes. */
  maxFrameBytes: number;
}

export interface HttpEndpointOptions {
  bosh: BoshOptions | undefined;
  websocket: WebSocketOptions | undefined;
  /** Whether the listener serves HTTPS (for `secure` and host-meta URLs). */
  secure: boolean;
}

export const DEFAULT_BOSH_OPTIONS: BoshOptions = {
  path: '/http-bind',
  maxWaitMs: 60_000,
  maxHold: 1,
  maxRequests: 2,
  inactivityMs: 30_000,
  pollingMs: 2_000,
  maxPauseMs: 120_000,
  maxBodyBytes: 65536 * 2,
  maxQueuedBytes: 1 << 20,
  reportAfterMs: 5_000,
  rememberTerminated: 10_000,
  maxSessions: 100_000,
  corsOrigins: [],
};

export const DEFAULT_WEBSOCKET_OPTIONS: WebSocketOptions = {
  path: '/ws-xmpp',
  origins: [],
  idleTimeoutMs: 120_000,
  maxFrameBytes: 65536 + 1024,
};

export function httpOptionsFromConfig(listener: HttpListenerConfig): HttpEndpointOptions {
  const bosh = listener.handlers.bosh;
  const ws = listener.handlers.websocket;
  // A body carries at least one stanza plus the <body/> wrapper.
  const stanzaRoom = listener.max_stanza_size + 1024;
  return {
    secure: listener.tls,
    bosh: bosh && {
      ...DEFAULT_BOSH_OPTIONS,
      path: bosh.path,
      maxWaitMs: bosh.max_wait,
      inactivityMs: bosh.inactivity,
      maxHold: bosh.max_hold,
      maxRequests: Math.max(bosh.max_requests, bosh.max_hold + 1),
      maxPauseMs: bosh.max_pause,
      pollingMs: bosh.polling,
      maxBodyBytes: Math.max(bosh.max_body_size, stanzaRoom),
      corsOrigins: bosh.cors_origins,
    },
    websocket: ws && {
      ...DEFAULT_WEBSOCKET_OPTIONS,
      path: ws.path,
      origins: ws.origins,
      idleTimeoutMs: ws.idle_timeout,
      maxFrameBytes: stanzaRoom,
    },
  };
}
