// Per-IP authentication-failure bans: after `threshold` failed SASL attempts from one
// address within `windowMs`, new connections from it are refused for `banMs`. Memory is
// bounded: at most `maxTracked` addresses are remembered (a Map keeps insertion order, so
// the oldest entry is the one forgotten), and expired entries go as they are met.

interface Entry {
  /** Failure times within the window, oldest first (at most `threshold`). */
  failures: number[];
  bannedUntil: number;
}

export interface AuthBanOptions {
  threshold: number;
  windowMs: number;
  banMs: number;
  maxTracked: number;
}

export class AuthFailureBans {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: AuthBanOptions) {}

  /** Records one failure; returns true when this failure starts a ban. */
  recordFailure(ip: string, now: number = Date.now()): boolean {
    const { threshold, windowMs, banMs } = this.options;
    let entry = this.entries.get(ip);
    if (entry === undefined) {
      entry = { failures: [], bannedUntil: 0 };
      this.remember(ip, entry);
    }
    if (entry.bannedUntil > now) return false;
    const since = now - windowMs;
    while (entry.failures.length > 0 && entry.failures[0]! <= since) entry.failures.shift();
    entry.failures.push(now);
    if (entry.failures.length < threshold) return false;
    entry.failures = [];
    entry.bannedUntil = now + banMs;
    return true;
  }

  /** Milliseconds the address stays banned (0: not banned). */
  bannedFor(ip: string, now: number = Date.now()): number {
    const entry = this.entries.get(ip);
    if (entry === undefined) return 0;
    if (entry.bannedUntil > now) return entry.bannedUntil - now;
    if (entry.failures.length === 0 || entry.failures[entry.failures.length - 1]! <= now - this.options.windowMs) {
      this.entries.delete(ip);
    }
    return 0;
  }

  /** Lifts a ban and forgets the failures (an operator's decision). */
  forgive(ip: string): void {
    this.entries.delete(ip);
  }

  get tracked(): number {
    return this.entries.size;
  }

  private remember(ip: string, entry: Entry): void {
    if (this.entries.size >= this.options.maxTracked) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(ip, entry);
  }
}
