// A token bucket (MongooseIM's shapers): `rate` tokens (bytes) per second, holding at
// most `burst`. Taking more than the bucket holds is allowed once and leaves a debt; the
// caller waits until the debt is repaid before reading again. Nothing is buffered here:
// the caller stops reading, so the sender sees TCP backpressure.

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly rate: number,
    readonly burst: number = rate,
    now: number = Date.now(),
  ) {
    if (!(rate > 0) || !(burst > 0)) throw new RangeError('a token bucket needs a positive rate and burst');
    this.tokens = burst;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.updatedAt = now;
  }

  /**
   * Accounts for `bytes` just read. Returns how many milliseconds the reader must pause
   * before the bucket is out of debt (0: keep reading).
   */
  take(bytes: number, now: number = Date.now()): number {
    this.refill(now);
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Milliseconds until the bucket is out of debt (0: take now). */
  debtMs(now: number = Date.now()): number {
    this.refill(now);
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate);
  }

  /** Tokens available now (negative while in debt). */
  available(now: number = Date.now()): number {
    this.refill(now);
    return this.tokens;
  }
}

/** A listener shaper's bucket: a burst of one second's worth, and at least a stream header and an <auth/>. */
export function shaperBucket(rate: number): TokenBucket {
  return new TokenBucket(rate, Math.max(rate, 4096));
}
