// Writes to storage that follow from stanzas already accepted (an offline message being
// stored, a subscription request kept for later). Stream management may acknowledge a
// stanza only once what it caused is durable (security rule 6), so the answer to <r/>
// waits until every write tracked before it has settled.

export class PendingWrites {
  private readonly pending = new Set<Promise<unknown>>();

  track(write: Promise<unknown>): void {
    this.pending.add(write);
    const done = () => this.pending.delete(write);
    write.then(done, done);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Runs `fn` once every write tracked so far has settled: at once when none is pending. */
  afterSettled(fn: () => void): void {
    if (this.pending.size === 0) {
      fn();
      return;
    }
    Promise.allSettled([...this.pending]).then(fn);
  }
}
