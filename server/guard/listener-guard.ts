// One listener's view of the node's guard: the shared caps and bans, plus what the
// listener itself configures — its shaper and its `access` rule — applied to whichever
// entry point it serves (c2s or component TCP, BOSH, WebSocket). Listeners build streams
// through it so that every transport reports the same things to the guard: SASL failures
// and failed component handshakes (the per-IP ban), authentication (the progress watch
// ends), and the identity the access rule is judged on.

import type { AccessControl } from '../config/access.ts';
import type { TcpConnection } from '../runtime/types.ts';
import type { C2sEnv } from '../streams/c2s-env.ts';
import type { ComponentEnv } from '../streams/component-env.ts';
import { guardedEnv } from './c2s-env.ts';
import { FrameGate } from './frame-gate.ts';
import type { GuardedConnection } from './guarded-connection.ts';
import type { Admission, ConnectionGuard, GuardTransport } from './guard.ts';
import type { CutReason } from './progress-watch.ts';

export interface ListenerGuardOptions {
  /** The listener's shaper in bytes per second; undefined: not shaped. */
  shaperRate: number | undefined;
  /** Access rule for client sessions, judged on the authenticated user at resource binding. */
  clientAccess: string | undefined;
  /** Access rule for components, judged on each domain a component claims, after its handshake. */
  componentAccess: string | undefined;
  accessControl: AccessControl;
}

/** Frames a WebSocket may have waiting for the shaper before it is closed. */
const MAX_HELD_FRAMES = 256;

export class ListenerGuard {
  constructor(
    readonly guard: ConnectionGuard,
    private readonly options: ListenerGuardOptions,
  ) {}

  get shaperRate(): number | undefined {
    return this.options.shaperRate;
  }

  /** Admits and wraps a TCP connection, or refuses it in the stream's own framing (undefined). */
  accept(conn: TcpConnection, transport: 'c2s' | 'component', onCut: (reason: CutReason) => void): GuardedConnection | undefined {
    return this.guard.accept(conn, { transport, shaperRate: this.options.shaperRate, onCut });
  }

  /** Counts a BOSH session or a WebSocket connection in, or says why not. */
  admit(remoteAddress: string, transport: GuardTransport): Admission {
    return this.guard.admit(remoteAddress, transport);
  }

  /** The env one client stream from `remoteAddress` runs against. */
  clientEnv(env: C2sEnv, remoteAddress: string, transport: GuardTransport, authenticated: () => void = () => {}): C2sEnv {
    const rule = this.options.clientAccess;
    const access = this.options.accessControl;
    return guardedEnv(env, {
      authFailed: () => this.guard.recordAuthFailure(remoteAddress, transport),
      authenticated,
      mayLogIn: (user, host) => rule === undefined || access.allowed(rule, { user, server: host }, host),
    });
  }

  /**
   * The env one component stream from `remoteAddress` runs against. The access rule sees a
   * component as the server JID of each domain it claims (user '', server = the domain),
   * judged on that domain: patterns pick components by `server` or `server_regexp`.
   */
  componentEnv(env: ComponentEnv, remoteAddress: string, transport: GuardTransport, authenticated: () => void = () => {}): ComponentEnv {
    const rule = this.options.componentAccess;
    const access = this.options.accessControl;
    return {
      ...env,
      handshakeFailed: () => this.guard.recordAuthFailure(remoteAddress, transport),
      authenticated,
      mayConnect: rule === undefined ? undefined : (domain) => access.allowed(rule, { user: '', server: domain }, domain),
    };
  }

  /**
   * The input side of one WebSocket: frames over the shaper rate wait in a queue of at most
   * a burst or one largest frame (whichever is more) and MAX_HELD_FRAMES frames.
   */
  frameGate(maxFrameBytes: number, ip: string, handlers: {
    deliver(frame: string | Uint8Array): void;
    onCut(reason: CutReason): void;
    onOverflow(): void;
  }): FrameGate {
    const rate = this.options.shaperRate;
    const { idleTimeoutMs, minRate } = this.guard.preauth;
    return new FrameGate({
      shaperRate: rate,
      maxHeldBytes: Math.max(rate ?? 0, 4096, maxFrameBytes),
      maxHeldFrames: MAX_HELD_FRAMES,
      preauthIdleTimeoutMs: idleTimeoutMs,
      preauthMinRate: minRate,
      deliver: handlers.deliver,
      onCut: (reason) => {
        this.guard.noteCut(ip, reason, 'websocket');
        handlers.onCut(reason);
      },
      onOverflow: handlers.onOverflow,
      onHeld: () => this.guard.noteShaped('websocket'),
      onRead: (n) => this.guard.noteRead(n),
    });
  }
}
