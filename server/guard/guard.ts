// The node's connection guard (docs/security.md): every accepted c2s TCP connection goes
// through accept() before a stream sees it. It refuses connections over the total or
// per-IP cap and from addresses banned for repeated authentication failures, and wraps
// the rest in a GuardedConnection (shaper, pre-authentication progress watch).

import type { TcpConnection } from '../runtime/types.ts';
import type { StreamErrorCondition } from '../errors.ts';
import { NS_CLIENT, NS_STREAM } from '../ns.ts';
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

export interface GuardEvents {
  refused?(ip: string, why: Refusal): void;
  banned?(ip: string, forMs: number): void;
  shaped?(): void;
  cut?(ip: string, why: CutReason): void;
}

export interface AcceptOptions {
  /** Listener shaper rate in bytes per second (undefined: not shaped). */
  shaperRate?: number;
  /** Closes the stream with an error when the client makes no progress. */
  onCut(reason: CutReason): void;
}

export interface GuardStats {
  open: number;
  addresses: number;
  trackedAddresses: number;
  refused: Record<Refusal, number>;
  shaped: number;
  cut: Record<CutReason, number>;
  /** Bytes read from guarded connections since start. */
  bytesRead: number;
}

const REFUSAL_ERRORS: Record<Refusal, { condition: StreamErrorCondition; text: string }> = {
  total: { condition: 'resource-constraint', text: 'the server has too many connections' },
  'per-ip': { condition: 'policy-violation', text: 'too many connections from your address' },
  banned: { condition: 'policy-violation', text: 'too many failed authentication attempts from your address; try again later' },
};

export class ConnectionGuard {
  private readonly caps: ConnectionCaps;
  private readonly bans: AuthFailureBans;
  private readonly counters: GuardStats;

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
      open: 0, addresses: 0, trackedAddresses: 0,
      refused: { total: 0, 'per-ip': 0, banned: 0 },
      shaped: 0,
      cut: { idle: 0, 'too-slow': 0 },
      bytesRead: 0,
    };
  }

  /** Admits and wraps a connection, or refuses it (error written, connection ended): undefined. */
  accept(conn: TcpConnection, options: AcceptOptions): GuardedConnection | undefined {
    const ip = addressKey(conn.remoteAddress);
    const refusal: Refusal | undefined = this.bans.bannedFor(ip) > 0 ? 'banned' : this.caps.admit(ip);
    if (refusal !== undefined) {
      this.counters.refused[refusal]++;
      this.events.refused?.(ip, refusal);
      refuse(conn, refusal);
      return undefined;
    }
    let released = false;
    return new GuardedConnection(conn, {
      shaperRate: options.shaperRate,
      preauthIdleTimeoutMs: this.settings.preauthIdleTimeoutMs,
      preauthMinRate: this.settings.preauthMinRate,
      onCut: (reason) => {
        this.counters.cut[reason]++;
        this.events.cut?.(ip, reason);
        options.onCut(reason);
      },
      onClosed: () => {
        if (released) return;
        released = true;
        this.caps.release(ip);
      },
      onRead: (n) => { this.counters.bytesRead += n; },
      onPaused: () => {
        this.counters.shaped++;
        this.events.shaped?.();
      },
    });
  }

  /** A SASL attempt from `ip` failed; enough of them within the window ban the address. */
  recordAuthFailure(remoteAddress: string): void {
    const ip = addressKey(remoteAddress);
    if (this.bans.recordFailure(ip)) this.events.banned?.(ip, this.settings.banMs);
  }

  /** Milliseconds `ip` stays banned (0: not banned). */
  bannedFor(remoteAddress: string): number {
    return this.bans.bannedFor(addressKey(remoteAddress));
  }

  forgive(remoteAddress: string): void {
    this.bans.forgive(addressKey(remoteAddress));
  }

  stats(): GuardStats {
    return {
      ...this.counters,
      refused: { ...this.counters.refused },
      cut: { ...this.counters.cut },
      open: this.caps.total,
      addresses: this.caps.addresses,
      trackedAddresses: this.bans.tracked,
    };
  }
}

/** A stream header of our own, the error, the close: the client learns why. */
function refuse(conn: TcpConnection, why: Refusal): void {
  const { condition, text } = REFUSAL_ERRORS[why];
  conn.attach({ data: () => {}, drain: () => {}, close: () => {} });
  conn.write(
    `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' version='1.0'>` +
      streamErrorXml(condition, text) + '</stream:stream>',
  );
  conn.end();
  // A client that never reads must not keep the socket half-closed.
  setTimeout(() => conn.destroy(), 2000).unref?.();
}
