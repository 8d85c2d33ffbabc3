// A log line that a flood cannot multiply: at most one per interval per event name, carrying
// how many were left out since the last one.

import type { Logger } from '../../server/log.ts';

export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(what: string, context: Record<string, unknown>): void {
    const t = this.now();
    const entry = this.last.get(what);
    if (entry !== undefined && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    this.log.warn(what, { ...context, suppressed: entry?.suppressed ?? 0 });
    this.last.set(what, { at: t, suppressed: 0 });
  }
}
