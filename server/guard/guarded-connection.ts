// A TcpConnection wrapped before any stream sees it. It:
// - shapes input: a token bucket per connection; when it runs into debt the socket stops
//   being read until the debt is repaid, so a flood meets TCP backpressure, not a buffer;
// - watches progress before authentication (./progress-watch.ts): no byte for
//   `idleTimeoutMs`, or fewer than `minRate` bytes per second on average (slow loris),
//   ends the connection;
// - tells its owner once it closes, so the caps can count it out.
// Everything else passes straight through to the wrapped connection.

import type { ConnectionEvents, TcpConnection, TlsCredentials, TlsInfo } from '../runtime/types.ts';
import { shaperBucket, type TokenBucket } from './token-bucket.ts';
import { ProgressWatch, type CutReason } from './progress-watch.ts';

export type { CutReason } from './progress-watch.ts';

export interface GuardedConnectionOptions {
  /** Bytes per second the client may send (listener `shaper`); undefined: unshaped. */
  shaperRate?: number;
  preauthIdleTimeoutMs: number;
  /** Bytes per second averaged since connect, before authentication; 0: not checked. */
  preauthMinRate: number;
  /** The connection was cut for a lack of progress: close the stream with an error. */
  onCut(reason: CutReason): void;
  /** The connection closed (whatever the reason), exactly once. */
  onClosed(): void;
  /** The shaper paused reading (for metrics). */
  onPaused?(): void;
  /** Bytes read from the client (for metrics). */
  onRead?(bytes: number): void;
}

/** How long a cut connection may take to close politely before it is destroyed. */
const CUT_GRACE_MS = 2000;

export class GuardedConnection implements TcpConnection {
  private events: ConnectionEvents | undefined;
  private readonly bucket: TokenBucket | undefined;
  private readonly watch: ProgressWatch;
  private pausedAt: number | undefined;
  private resumeTimer: ReturnType<typeof setTimeout> | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly inner: TcpConnection,
    private readonly options: GuardedConnectionOptions,
  ) {
    // A burst of one second's worth (at least a stream header and an <auth/>) lets a
    // client negotiate without waiting, then the rate holds.
    if (options.shaperRate !== undefined) this.bucket = shaperBucket(options.shaperRate);
    this.watch = new ProgressWatch({
      idleTimeoutMs: options.preauthIdleTimeoutMs,
      minRate: options.preauthMinRate,
      onCut: (reason) => this.cut(reason),
    });
  }

  get remoteAddress(): string { return this.inner.remoteAddress; }
  get remotePort(): number { return this.inner.remotePort; }
  get localPort(): number { return this.inner.localPort; }
  get tls(): TlsInfo | undefined { return this.inner.tls; }
  get queuedBytes(): number { return this.inner.queuedBytes; }
  /** Whether the shaper has stopped reading this connection right now. */
  get shaped(): boolean { return this.pausedAt !== undefined; }

  attach(events: ConnectionEvents): void {
    this.events = events;
    this.inner.attach({
      data: (bytes) => this.onData(bytes),
      drain: () => this.events?.drain(),
      close: (error) => this.onClose(error),
    });
  }

  /** The client authenticated: the pre-authentication progress rules no longer apply. */
  markAuthenticated(): void {
    this.watch.stop();
  }

  write(data: Uint8Array | string): number { return this.inner.write(data); }
  startTls(credentials: TlsCredentials): Promise<TlsInfo> { return this.inner.startTls(credentials); }
  end(): void {
    this.inner.end();
    // A peer that keeps sending after our close (a TLS socket waits for it to finish) would
    // keep the connection, and our reading, alive indefinitely: it gets a grace period.
    if (!this.closed && this.graceTimer === undefined) {
      this.graceTimer = setTimeout(() => this.inner.destroy(), CUT_GRACE_MS);
      this.graceTimer.unref?.();
    }
  }
  destroy(): void { this.inner.destroy(); }
  pause(): void { this.inner.pause?.(); }
  resume(): void { this.inner.resume?.(); }

  private onData(bytes: Uint8Array): void {
    // After our end() nothing the peer sends matters any more.
    if (this.closed || this.graceTimer !== undefined) return;
    const now = Date.now();
    this.watch.received(bytes.length, now);
    this.options.onRead?.(bytes.length);
    // Bytes already read are handed on (never held back): shaping acts on what is read next.
    this.events?.data(bytes);
    if (this.bucket === undefined || this.closed) return;
    const waitMs = this.bucket.take(bytes.length, now);
    if (waitMs > 0 && this.pausedAt === undefined && this.inner.pause !== undefined) {
      this.pausedAt = now;
      this.watch.hold(now);
      this.inner.pause();
      this.options.onPaused?.();
      this.resumeTimer = setTimeout(() => this.resumeReading(), waitMs);
    }
  }

  private resumeReading(): void {
    this.resumeTimer = undefined;
    if (this.closed || this.pausedAt === undefined) return;
    this.pausedAt = undefined;
    // Time spent paused by us is not the client's silence.
    this.watch.release();
    this.inner.resume?.();
  }

  private cut(reason: CutReason): void {
    this.options.onCut(reason);
    // A client that does not read our error must not keep the socket.
    clearTimeout(this.graceTimer);
    this.graceTimer = setTimeout(() => this.inner.destroy(), CUT_GRACE_MS);
    this.graceTimer.unref?.();
  }

  private onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.resumeTimer);
    clearTimeout(this.graceTimer);
    this.watch.stop();
    this.options.onClosed();
    this.events?.close(error);
  }
}
