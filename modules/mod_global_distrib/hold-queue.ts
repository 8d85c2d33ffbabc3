// Stanzas whose recipient this cluster cannot place yet, one queue per recipient (bare JID)
// so they leave in the order they came. The head is looked up; while the recipient is
// known nowhere (a session being bound on another cluster, a user reconnecting elsewhere,
// Redis unreachable) it is looked up again every resend_after_ms, up to max_retries times.
// Then:
//   - found on another cluster → forwarded, and the rest of the queue follows;
//   - connected here by now → delivered here;
//   - Redis answered "nowhere" → the ordinary local rules (offline storage, or
//     service-unavailable from the router): the user is offline;
//   - Redis did not answer → service-unavailable to the sender: "unknown" is not "offline"
//     (security rule 6).
// Presence and IQs to a bare JID are not waited for: if nobody holds the account they get
// the local rules at once. The queues together hold at most max_queued stanzas; beyond that
// a stanza is refused at once (security rule 10). Every path ends forwarded, delivered,
// stored or returned: nothing waits forever and nothing is dropped silently.

import type { Packet } from '../../server/core/packet.ts';

export type Resolution =
  | { readonly kind: 'remote'; readonly cluster: string }
  | { readonly kind: 'nowhere' }
  /** Not elsewhere, and this cluster has a fallback for it now (another resource of the account). */
  | { readonly kind: 'local' }
  | { readonly kind: 'error' };

export interface HoldQueueOptions {
  resendAfterMs: number;
  maxRetries: number;
  maxQueued: number;
  resolve(packet: Packet): Resolution | Promise<Resolution>;
  /** A local session can take the packet now. */
  isHere(packet: Packet): boolean;
  forward(packet: Packet, cluster: string, ttl: number): void;
  deliverHere(packet: Packet): void;
  /** Returns the packet to its sender with an error. */
  refuse(packet: Packet, why: 'routing-unavailable' | 'queue-full'): void;
}

interface Held {
  readonly packet: Packet;
  readonly ttl: number;
  attempts: number;
}

interface Queue {
  readonly entries: Held[];
  wake: (() => void) | undefined;
}

export class HoldQueues {
  private readonly queues = new Map<string, Queue>();
  private held = 0;
  private stopped = false;

  constructor(private readonly options: HoldQueueOptions) {}

  /** Stanzas held in all queues. */
  get size(): number {
    return this.held;
  }

  has(key: string): boolean {
    return this.queues.has(key);
  }

  /** Takes a packet (detached by the caller) for `key`; it leaves in order behind the others. */
  enqueue(key: string, packet: Packet, ttl: number): void {
    if (this.stopped || this.held >= this.options.maxQueued) {
      if (waits(packet)) this.options.refuse(packet, 'queue-full');
      else this.options.deliverHere(packet);
      return;
    }
    this.held++;
    const entry: Held = { packet, ttl, attempts: 0 };
    const queue = this.queues.get(key);
    if (queue !== undefined) {
      queue.entries.push(entry);
      return;
    }
    const fresh: Queue = { entries: [entry], wake: undefined };
    this.queues.set(key, fresh);
    queueMicrotask(() => void this.drain(key, fresh));
  }

  /** Something changed for `key` (a session opened, Redis is back): look again now. */
  wake(key: string): void {
    this.queues.get(key)?.wake?.();
  }

  wakeAll(): void {
    for (const q of this.queues.values()) q.wake?.();
  }

  /** Stops retrying: every held stanza gets its final answer now. */
  stop(): void {
    this.stopped = true;
    this.wakeAll();
  }

  private async drain(key: string, queue: Queue): Promise<void> {
    const o = this.options;
    try {
      while (queue.entries.length > 0) {
        const head = queue.entries[0]!;
        if (o.isHere(head.packet)) {
          this.take(queue);
          o.deliverHere(head.packet);
          continue;
        }
        let found: Resolution;
        try {
          found = await o.resolve(head.packet);
        } catch {
          found = { kind: 'error' };
        }
        if (found.kind === 'remote') {
          this.take(queue);
          o.forward(head.packet, found.cluster, head.ttl);
          continue;
        }
        if (o.isHere(head.packet)) continue; // bound here while we asked
        if (found.kind === 'local') {
          this.take(queue);
          o.deliverHere(head.packet);
          continue;
        }
        const mayWait = found.kind === 'error' ? head.packet.kind !== 'presence' : waits(head.packet);
        if (mayWait && head.attempts < o.maxRetries && !this.stopped) {
          head.attempts++;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, o.resendAfterMs);
            function done(): void {
              clearTimeout(timer);
              queue.wake = undefined;
              resolve();
            }
            queue.wake = done;
          });
          continue;
        }
        this.take(queue);
        if (found.kind === 'error' && head.packet.kind !== 'presence') o.refuse(head.packet, 'routing-unavailable');
        else o.deliverHere(head.packet);
      }
    } finally {
      if (this.queues.get(key) === queue) this.queues.delete(key);
      // Anything left after a throw is answered rather than forgotten.
      while (queue.entries.length > 0) o.deliverHere(this.take(queue).packet);
    }
  }

  private take(queue: Queue): Held {
    this.held--;
    return queue.entries.shift()!;
  }
}

/** Messages, and IQs to a full JID, wait for their recipient to appear; the rest does not. */
function waits(packet: Packet): boolean {
  return packet.kind === 'message' || (packet.kind === 'iq' && packet.to.resource !== '');
}
