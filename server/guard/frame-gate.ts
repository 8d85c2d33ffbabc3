// The guard's input side for a transport that receives whole messages and cannot stop
// reading them: a WebSocket. Bun's server WebSocket offers no way to pause incoming
// frames (its backpressure concerns sending), so the shaper cannot push back on the
// socket as it does on TCP. Instead frames over the rate are held in a small queue, in
// order, and handed on as the token bucket refills; when the queue would grow past its
// bound the client is sending faster than it is allowed to for longer than a moment, and
// the connection is closed (onOverflow: policy-violation). Memory per connection is the
// bound, whatever the client sends.
//
// The gate also watches progress before authentication (./progress-watch.ts): a frame is
// progress, time a frame waits in the queue is ours, not the client's silence.

import { Buffer } from 'node:buffer';
import { shaperBucket, type TokenBucket } from './token-bucket.ts';
import { ProgressWatch, type CutReason } from './progress-watch.ts';

export interface FrameGateOptions {
  /** Bytes per second (listener `shaper`); undefined: frames pass at once. */
  shaperRate?: number;
  /** Most bytes of frames held while the bucket is in debt. */
  maxHeldBytes: number;
  /** Most frames held while the bucket is in debt. */
  maxHeldFrames: number;
  preauthIdleTimeoutMs: number;
  preauthMinRate: number;
  /** Where frames go, in the order they arrived. */
  deliver(frame: string | Uint8Array): void;
  /** No progress before authentication: close the stream with an error. */
  onCut(reason: CutReason): void;
  /** The queue bound was crossed: close the stream with policy-violation. */
  onOverflow(): void;
  /** The shaper started holding frames (metrics). */
  onHeld?(): void;
  /** Bytes received (metrics). */
  onRead?(bytes: number): void;
}

interface HeldFrame {
  frame: string | Uint8Array;
  bytes: number;
}

export class FrameGate {
  private readonly bucket: TokenBucket | undefined;
  private readonly watch: ProgressWatch;
  private held: HeldFrame[] = [];
  private heldBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;

  constructor(private readonly options: FrameGateOptions) {
    if (options.shaperRate !== undefined) this.bucket = shaperBucket(options.shaperRate);
    this.watch = new ProgressWatch({
      idleTimeoutMs: options.preauthIdleTimeoutMs,
      minRate: options.preauthMinRate,
      onCut: (reason) => { if (!this.ended) options.onCut(reason); },
    });
  }

  /** Frames waiting for the bucket (for tests and metrics). */
  get queued(): { frames: number; bytes: number } {
    return { frames: this.held.length, bytes: this.heldBytes };
  }

  /** One frame from the client. */
  message(frame: string | Uint8Array): void {
    if (this.ended) return;
    const bytes = typeof frame === 'string' ? Buffer.byteLength(frame, 'utf8') : frame.length;
    const now = Date.now();
    this.watch.received(bytes, now);
    this.options.onRead?.(bytes);
    if (this.bucket === undefined) return this.options.deliver(frame);
    if (this.held.length === 0 && this.bucket.debtMs(now) === 0) {
      this.bucket.take(bytes, now);
      return this.options.deliver(frame);
    }
    if (this.held.length >= this.options.maxHeldFrames || this.heldBytes + bytes > this.options.maxHeldBytes) {
      this.end();
      this.options.onOverflow();
      return;
    }
    // The runtime may reuse a binary frame's memory once this call returns.
    this.held.push({ frame: typeof frame === 'string' ? frame : frame.slice(), bytes });
    this.heldBytes += bytes;
    if (this.held.length === 1) {
      this.watch.hold(now);
      this.options.onHeld?.();
      this.schedule(now);
    }
  }

  /** The client authenticated: the progress rules no longer apply (the shaper still does). */
  markAuthenticated(): void {
    this.watch.stop();
  }

  /** The connection ended: held frames are dropped, timers stopped. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.watch.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = [];
    this.heldBytes = 0;
  }

  private schedule(now: number): void {
    this.timer = setTimeout(() => this.drain(), Math.max(1, this.bucket!.debtMs(now)));
    this.timer.unref?.();
  }

  private drain(): void {
    this.timer = undefined;
    const now = Date.now();
    while (!this.ended && this.held.length > 0 && this.bucket!.debtMs(now) === 0) {
      const next = this.held.shift()!;
      this.heldBytes -= next.bytes;
      this.bucket!.take(next.bytes, now);
      this.options.deliver(next.frame);
    }
    if (this.ended) return;
    if (this.held.length > 0) this.schedule(now);
    else this.watch.release(now);
  }
}
