// The node's connection guard (docs/security.md). Every entry point goes through it
// before a stream sees the client: c2s and component TCP connections through accept()
// (which wraps them in a GuardedConnection: shaper, pre-authentication progress watch),
// BOSH sessions and WebSocket connections through admit() (their transports shape and
// watch on their own, ./frame-gate.ts and the BOSH session). Both refuse clients over the
// total or per-IP cap and from addresses banned for repeated authentication failures,
// and count one unit per admitted connection or session, in the same counters, until it
// is released exactly once.

import type { TcpConnection } from '../runtime/types.ts';
import type { StreamErrorCondition } from '../errors.ts';
import { NS_CLIENT, NS_COMPONENT_ACCEPT, NS_STREAM } from '../ns.ts';
import { streamErrorXml } from '../streams/header.ts';
import { ConnectionCaps, type CapRefusal } from './connection-caps.ts';
import { AuthFailureBans } from './auth-bans.ts';
import { GuardedConnection, type CutReason } from './guarded-connection.ts';
import { addressKey } from './address-key.ts';

export interface GuardSettings {
  maxConnections: number;
  maxConnectionsPerIp: number;
  authFailuresPerIp: number;
  authFailureWindowMs: number;
  banMs: number;
  preauthIdleTimeoutMs: number;
  preauthMinRate: number;
  maxTrackedAddresses: number;
}

export type Refusal = CapRefusal | 'banned';

/**
 * What the guard counts, as the `transport` label of its metrics: c2s TCP connections
 * (STARTTLS and direct TLS), BOSH sessions, WebSocket connections (clients and components
 * alike: what a connection is becomes known only from its first frame), and component
 * TCP connections.
 */
export type GuardTransport = 'c2s' | 'bosh' | 'websocket' | 'component';

export interface GuardEvents {
  refused?(ip: string, why: Refusal, transport: GuardTransport): void;
  banned?(ip: string, forMs: number, transport: GuardTransport): void;
  shaped?(transport: GuardTransport): void;
  cut?(ip: string, why: CutReason, transport: GuardTransport): void;
}

export interface AcceptOptions {
  /** Which TCP entry point (default c2s): the refusal's stream header follows it. */
  transport?: 'c2s' | 'component';
  /** Listener shaper rate in bytes per second (undefined: not shaped). */
  shaperRate?: number;
  /** Closes the stream with an error when the client makes no progress. */
  onCut(reason: CutReason): void;
}

/** One admitted BOSH session or WebSocket connection. */
export interface GuardTicket {
  /** The address key it is counted under. */
  readonly ip: string;
  /** Counts it out; only the first call counts. */
  release(): void;
}

export type Admission =
  | { ok: true; ticket: GuardTicket }
  | { ok: false; refusal: Refusal; condition: StreamErrorCondition; text: string };

export interface GuardStats {
  open: number;
  openByTransport: Record<GuardTransport, number>;
  addresses: number;
  trackedAddresses: number;
  refused: Record<Refusal, number>;
  shaped: number;
  cut: Record<CutReason, number>;
  /** Bytes read from guarded connections since start. */
  bytesRead: number;
}

export const REFUSAL_ERRORS: Readonly<Record<Refusal, { condition: StreamErrorCondition; text: string }>> = {
  total: { condition: 'resource-constraint', text: 'the server has too many connections' },
  'per-ip': { condition: 'policy-violation', text: 'too many connections from your address' },
  banned: { condition: 'policy-violation', text: 'too many failed authentication attempts from your address; try again later' },
};

export class ConnectionGuard {
  private readonly caps: ConnectionCaps;
  private readonly bans: AuthFailureBans;
  private readonly counters: Omit<GuardStats, 'open' | 'addresses' | 'trackedAddresses'>;

  constructor(
    private readonly settings: GuardSettings,
    private readonly events: GuardEvents = {},
  ) {
    this.caps = new ConnectionCaps(settings.maxConnections, settings.maxConnectionsPerIp);
    this.bans = new AuthFailureBans({
      threshold: settings.authFailuresPerIp,
      windowMs: settings.authFailureWindowMs,
      banMs: settings.banMs,
      maxTracked: settings.maxTrackedAddresses,
    });
    this.counters = {
      openByTransport: { c2s: 0, bosh: 0, websocket: 0, component: 0 },
      refused: { total: 0, 'per-ip': 0, banned: 0 },
      shaped: 0,
      cut: { idle: 0, 'too-slow': 0 },
      bytesRead: 0,
    };
  }

  /** The pre-authentication progress settings, for transports that watch on their own. */
  get preauth(): { idleTimeoutMs: number; minRate: number } {
    return { idleTimeoutMs: this.settings.preauthIdleTimeoutMs, minRate: this.settings.preauthMinRate };
  }

  /** Admits and wraps a TCP connection, or refuses it (error written, connection ended): undefined. */
  accept(conn: TcpConnection, options: AcceptOptions): GuardedConnection | undefined {
    const transport = options.transport ?? 'c2s';
    const admission = this.admit(conn.remoteAddress, transport);
    if (!admission.ok) {
      refuse(conn, admission, transport);
      return undefined;
    }
    const { ticket } = admission;
    return new GuardedConnection(conn, {
      shaperRate: options.shaperRate,
      preauthIdleTimeoutMs: this.settings.preauthIdleTimeoutMs,
      preauthMinRate: this.settings.preauthMinRate,
      onCut: (reason) => {
        this.noteCut(ticket.ip, reason, transport);
        options.onCut(reason);
      },
      onClosed: () => ticket.release(),
      onRead: (n) => this.noteRead(n),
      onPaused: () => this.noteShaped(transport),
    });
  }

  /**
   * Counts one unit from `remoteAddress` in (a BOSH session, a WebSocket connection), or
   * says why not. The caller writes the refusal in its own framing and must release an
   * admitted ticket when the session or connection ends.
   */
  admit(remoteAddress: string, transport: GuardTransport): Admission {
    const ip = addressKey(remoteAddress);
    const refusal: Refusal | undefined = this.bans.bannedFor(ip) > 0 ? 'banned' : this.caps.admit(ip);
    if (refusal !== undefined) {
      this.counters.refused[refusal]++;
      this.events.refused?.(ip, refusal, transport);
      return { ok: false, refusal, ...REFUSAL_ERRORS[refusal] };
    }
    this.counters.openByTransport[transport]++;
    let released = false;
    return {
      ok: true,
      ticket: {
        ip,
        release: () => {
          if (released) return;
          released = true;
          this.counters.openByTransport[transport]--;
          this.caps.release(ip);
        },
      },
    };
  }

  /** A SASL attempt (or a component handshake) from `ip` failed; enough of them within the window ban the address. */
  recordAuthFailure(remoteAddress: string, transport: GuardTransport = 'c2s'): void {
    const ip = addressKey(remoteAddress);
    if (this.bans.recordFailure(ip)) this.events.banned?.(ip, this.settings.banMs, transport);
  }

  /** Milliseconds `ip` stays banned (0: not banned). */
  bannedFor(remoteAddress: string): number {
    return this.bans.bannedFor(addressKey(remoteAddress));
  }

  forgive(remoteAddress: string): void {
    this.bans.forgive(addressKey(remoteAddress));
  }

  /** A transport that watches progress on its own cut a client (metrics and stats). */
  noteCut(ip: string, reason: CutReason, transport: GuardTransport): void {
    this.counters.cut[reason]++;
    this.events.cut?.(ip, reason, transport);
  }

  /** A shaper held a client back (a socket paused, frames or a body delayed). */
  noteShaped(transport: GuardTransport): void {
    this.counters.shaped++;
    this.events.shaped?.(transport);
  }

  noteRead(bytes: number): void {
    this.counters.bytesRead += bytes;
  }

  stats(): GuardStats {
    return {
      ...this.counters,
      openByTransport: { ...this.counters.openByTransport },
      refused: { ...this.counters.refused },
      cut: { ...this.counters.cut },
      open: this.caps.total,
      addresses: this.caps.addresses,
      trackedAddresses: this.bans.tracked,
    };
  }
}

/** A stream header of our own, the error, the close: the client learns why. */
function refuse(conn: TcpConnection, refusal: { condition: StreamErrorCondition; text: string }, transport: 'c2s' | 'component'): void {
  // Components speak the pre-1.0 protocol: their namespace, no version.
  const opening = transport === 'component'
    ? `<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT_ACCEPT}' xmlns:stream='${NS_STREAM}'>`
    : `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' version='1.0'>`;
  conn.attach({ data: () => {}, drain: () => {}, close: () => {} });
  conn.write(opening + streamErrorXml(refusal.condition, refusal.text) + '</stream:stream>');
  conn.end();
  // A client that never reads must not keep the socket half-closed.
  setTimeout(() => conn.destroy(), 2000).unref?.();
}
