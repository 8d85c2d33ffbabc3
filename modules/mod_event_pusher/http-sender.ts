// POSTs JSON events to a webhook: a bounded queue, a fixed number of workers, retries with a
// doubling delay for failures worth retrying (network error, timeout, 5xx, 429). A 4xx other
// than 429 is final: the receiver said the event is wrong, sending it again will not help.
// When the queue is full new events are dropped and counted (security rule 10).

import type { Logger } from '../../server/log.ts';
import { RateLimitedLog } from './rate-log.ts';

export interface WebhookOptions {
  readonly url: string;
  readonly max_queue: number;
  readonly retries: number;
  readonly retry_delay: number;
  readonly timeout: number;
  readonly workers: number;
}

export interface WebhookStats {
  queued: number;
  sent: number;
  retried: number;
  failed: number;
  dropped: number;
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number }>;

export class WebhookSender {
  readonly stats: WebhookStats = { queued: 0, sent: 0, retried: 0, failed: 0, dropped: 0 };
  private readonly queue: string[] = [];
  private active = 0;
  private stopped = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly rateLog: RateLimitedLog;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
    private readonly fetchImpl: Fetch = (url, init) => fetch(url, init),
  ) {
    this.rateLog = new RateLimitedLog(log);
  }

  /** Queues an event; false when it was dropped (queue full or stopped). */
  send(event: Record<string, unknown>): boolean {
    if (this.stopped) return false;
    if (this.queue.length >= this.options.max_queue) {
      this.stats.dropped++;
      this.rateLog.warn('webhook_queue_full', { url: this.options.url, queued: this.queue.length });
      return false;
    }
    this.stats.queued++;
    this.queue.push(JSON.stringify(event));
    this.pump();
    return true;
  }

  get queueLength(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.wakeIdle();
  }

  private pump(): void {
    while (!this.stopped && this.active < this.options.workers && this.queue.length > 0) {
      const body = this.queue.shift()!;
      this.active++;
      void this.deliver(body).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) this.wakeIdle();
      });
    }
  }

  private async deliver(body: string): Promise<void> {
    let delay = this.options.retry_delay;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(body);
      if (outcome === 'ok') {
        this.stats.sent++;
        return;
      }
      if (outcome === 'final' || attempt >= this.options.retries || this.stopped) {
        this.stats.failed++;
        this.rateLog.warn('webhook_post_failed', { url: this.options.url, attempts: attempt + 1 });
        return;
      }
      this.stats.retried++;
      await this.sleep(delay);
      delay *= 2;
    }
  }

  private async attempt(body: string): Promise<'ok' | 'retry' | 'final'> {
    try {
      const res = await this.fetchImpl(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.options.timeout),
      });
      if (res.status >= 200 && res.status < 300) return 'ok';
      if (res.status === 429 || res.status >= 500) return 'retry';
      return 'final';
    } catch {
      return 'retry';
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
