// Caps authentication attempts per connection: after `limit` failures the stream is
// closed with <policy-violation/> (RFC 6120 §4.9.3.18), so one TCP connection cannot be
// used to guess passwords indefinitely. Count every failed or aborted exchange; the
// stream layer owns closing the stream.

export const DEFAULT_AUTH_FAILURE_LIMIT = 3;

export type AuthFailureVerdict =
  | { action: 'retry'; remaining: number }
  | { action: 'close-stream'; condition: 'policy-violation' };

export class AuthFailureBudget {
  readonly limit: number;
  private failures = 0;

  constructor(limit: number = DEFAULT_AUTH_FAILURE_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`auth failure limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  get failureCount(): number {
    return this.failures;
  }

  get remaining(): number {
    return Math.max(0, this.limit - this.failures);
  }

  get exhausted(): boolean {
    return this.failures >= this.limit;
  }

  /** Record one failed attempt and say what the stream must do next. */
  recordFailure(): AuthFailureVerdict {
    this.failures++;
    return this.exhausted ? { action: 'close-stream', condition: 'policy-violation' } : { action: 'retry', remaining: this.remaining };
  }
}
