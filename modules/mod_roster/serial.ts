// Per-user ordering for work that waits on storage.
//
// Hooks run synchronously, storage answers asynchronously: a subscription stanza, a presence
// change and a roster set of one user must still take effect in the order they arrived. Each
// user has a chain of tasks; a task starts when the one before it has finished. Chains are
// bounded (security rule 10): past `maxPerKey` waiting tasks, run() refuses and the caller
// answers with an error instead of queueing.

import type { Logger } from '../../server/log.ts';

export class SerialQueues {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, number>();
  private readonly maxPerKey: number;
  private readonly log: Logger;

  /** `track` sees every queued task's completion (ctx.trackWrite: acks wait for them). */
  constructor(log: Logger, maxPerKey = 1000, private readonly track?: (done: Promise<void>) => void) {
    this.log = log;
    this.maxPerKey = maxPerKey;
  }

  /** Queues a task behind the key's earlier ones; false (nothing queued) when the key's chain is full. */
  run(key: string, what: string, task: () => unknown): boolean {
    const count = this.waiting.get(key) ?? 0;
    if (count >= this.maxPerKey) {
      this.log.warn('roster_queue_full', { key, what });
      return false;
    }
    this.waiting.set(key, count + 1);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous
      .then(task)
      .then(undefined, (err: unknown) => this.log.warn('roster_task_failed', { what, error: err }))
      .then(() => {
        const left = (this.waiting.get(key) ?? 1) - 1;
        if (left === 0) this.waiting.delete(key);
        else this.waiting.set(key, left);
        if (this.tails.get(key) === next) this.tails.delete(key);
      });
    this.tails.set(key, next);
    this.track?.(next);
    return true;
  }

  /** Resolves when every task queued so far (and any they queue) has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
