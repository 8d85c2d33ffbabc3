// Everything a client stream needs from the rest of the server, as one narrow interface.
// server/c2s-wiring.ts builds it from the router, session manager, SASL registry and
// configuration; tests can build a small one of their own.

import type { ParserLimits, StanzaView } from '../../parser-wasm/host/types.ts';
import type { Logger } from '../log.ts';
import type { TlsCredentials } from '../runtime/types.ts';
import type { Element } from '../xml/element.ts';
import type { Jid } from '../jid.ts';
import type { StreamErrorCondition } from '../errors.ts';
import type { SaslConnectionInfo, SaslExchangeLike, SaslFailureCondition } from './sasl-negotiation.ts';
import type { StreamManagementProvider } from './stream-management.ts';

export interface C2sLimits {
  preauth: ParserLimits;
  authenticated: ParserLimits;
  /** Seconds from connect until a bound session; then `connection-timeout`. */
  preauthTimeoutMs: number;
  /** Outbound bytes queued for a slow reader before the stream is closed. */
  maxOutboundBytes: number;
  /** SASL failures allowed on one connection before it is closed. */
  maxAuthFailures: number;
}

/** A bound client session as the session manager sees it. */
export interface BoundSession {
  readonly jid: Jid;
  /**
   * Who writes this session's stanzas from now on: a stream resuming it (XEP-0198), or the
   * stream management buffer while it hibernates. A session without it cannot be resumed.
   */
  attach?(owner: SessionOwner): void;
}

export type BindResult = { ok: true; session: BoundSession } | { ok: false; condition: 'bad-request' | 'not-allowed' | 'conflict' | 'resource-constraint' | 'internal-server-error'; text?: string };

/** The side of a c2s stream the session manager drives (deliver, replace, shut down). */
export interface SessionOwner {
  /** Write a routed stanza to this client. */
  deliver(parts: string | Uint8Array[]): void;
  /** Close with a stream error (a newer session took the resource: 'conflict'; shutdown: 'system-shutdown'). */
  closeWith(condition: StreamErrorCondition, text?: string): void;
  /** True for stream management's stand-in while the connection is gone (XEP-0198). */
  readonly hibernating?: boolean;
}

export interface C2sEnv {
  readonly log: Logger;
  isServedHost(domain: string): boolean;
  readonly defaultHost: string | undefined;
  /** Certificate for STARTTLS, if any. */
  readonly tls: TlsCredentials | undefined;
  /** Refuse SASL until the stream is encrypted. */
  readonly tlsRequired: boolean;
  readonly limits: C2sLimits;
  /** Mechanisms to offer on this connection, in preference order. */
  saslMechanisms(conn: SaslConnectionInfo): string[];
  startSasl(mechanism: string, conn: SaslConnectionInfo, offered: readonly string[]):
    | { ok: true; exchange: SaslExchangeLike }
    | { ok: false; condition: SaslFailureCondition };
  /** Normalizes a SASL authcid to a localpart (PRECIS UsernameCaseMapped); undefined if invalid. */
  normalizeUsername(username: string): string | undefined;
  /** Generate a resource for clients that do not ask for one. */
  generateResource(): string;
  /** Register a session; may replace an older one with the same full JID. */
  bind(owner: SessionOwner, user: string, host: string, resource: string | undefined): BindResult;
  /**
   * Route a stanza a bound client sent (its 'from' already checked). Runs synchronously: a
   * view is only valid now. An Element is a stanza detached while the stream was busy.
   */
  routeFromClient(session: BoundSession, stanza: StanzaView | Element): void;
  /** Handle an element the stream does not know (stream-level extensions like SM); false → unsupported. */
  streamElement?(session: BoundSession, el: Element): boolean;
  /** Extra <stream:features/> children modules offer (serialized), before or after authentication. */
  streamFeatures?(host: string, authenticated: boolean): string;
  /**
   * An IQ before authentication. Only in-band registration (XEP-0077) may use it: returns the
   * reply to send, or undefined when the IQ is not allowed here (the stream then refuses it).
   */
  unauthenticatedIq?(host: string, remoteAddress: string, iq: Element): Promise<Element> | undefined;
  unbind(session: BoundSession, reason: string): void;
  /** Runs `fn` once the storage writes caused by stanzas accepted so far are done (at once if none). */
  afterPendingWrites(fn: () => void): void;
  /** Stream management (XEP-0198) for a host, when mod_stream_management runs there. */
  streamManagement?(host: string): StreamManagementProvider | undefined;
  /** Count an event for metrics. */
  count(what: string, labels?: Record<string, string>): void;
}
