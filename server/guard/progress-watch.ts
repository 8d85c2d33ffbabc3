// The pre-authentication progress rules, for any transport: nothing received for
// `idleTimeoutMs` is 'idle'; fewer than `minRate` bytes per second on average since the
// start (checked once `idleTimeoutMs` has passed) is 'too-slow', the slow loris that sends
// a byte every few seconds and so never idles. Time during which we hold the client back
// (a shaper paused its socket or queued its frames) counts neither as silence nor towards
// the average. The watch ends at the first cut or when the client authenticates.

export type CutReason = 'idle' | 'too-slow';

export interface ProgressWatchOptions {
  /** 0: no watch at all. */
  idleTimeoutMs: number;
  /** Bytes per second averaged since the start; 0: not checked. */
  minRate: number;
  onCut(reason: CutReason): void;
}

export class ProgressWatch {
  private readonly startedAt = Date.now();
  private lastInputAt = this.startedAt;
  private bytesIn = 0;
  private heldMs = 0;
  private heldSince: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watching: boolean;

  constructor(private readonly options: ProgressWatchOptions) {
    this.watching = options.idleTimeoutMs > 0;
    if (this.watching) this.schedule();
  }

  /** Bytes arrived from the client. */
  received(bytes: number, now: number = Date.now()): void {
    this.lastInputAt = now;
    this.bytesIn += bytes;
  }

  /** We stopped taking input (shaper): the client's silence from now on is ours. */
  hold(now: number = Date.now()): void {
    this.heldSince ??= now;
  }

  /** We take input again. */
  release(now: number = Date.now()): void {
    if (this.heldSince === undefined) return;
    this.heldMs += now - this.heldSince;
    this.heldSince = undefined;
    this.lastInputAt = now;
  }

  /** Authenticated or gone: the rules no longer apply. */
  stop(): void {
    this.watching = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const every = Math.min(Math.max(this.options.idleTimeoutMs / 2, 100), 5000);
    this.timer = setTimeout(() => this.check(), every);
    this.timer.unref?.();
  }

  private check(): void {
    if (!this.watching) return;
    const now = Date.now();
    if (this.heldSince === undefined) {
      const { idleTimeoutMs, minRate } = this.options;
      if (now - this.lastInputAt >= idleTimeoutMs) return this.cut('idle');
      const activeMs = now - this.startedAt - this.heldMs;
      if (minRate > 0 && activeMs >= idleTimeoutMs && (this.bytesIn * 1000) / activeMs < minRate) return this.cut('too-slow');
    }
    this.schedule();
  }

  private cut(reason: CutReason): void {
    this.stop();
    this.options.onCut(reason);
  }
}

/** How a stream ends when the watch cuts it. */
export const CUT_ERRORS: Readonly<Record<CutReason, { condition: 'connection-timeout' | 'policy-violation'; text: string }>> = {
  idle: { condition: 'connection-timeout', text: 'nothing was received for too long' },
  'too-slow': { condition: 'policy-violation', text: 'the client sends too slowly' },
};
