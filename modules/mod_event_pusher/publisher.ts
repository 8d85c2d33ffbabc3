// Sends push notifications to app servers and reads their answers — the part of the module
// that talks to the outside, so the part that must not loop (security rule 5).
//
//   - A publish is an IQ set from the user's bare JID to the registration's service. Its hop
//     count continues the message that caused it, so a loop through local modules is cut by
//     the router's hop budget.
//   - Answers are taken off the routing path by id (filter_local_packet): a result settles,
//     an error disables the registration (XEP-0357 §8: the app server no longer wants
//     notifications for that node) except a 'wait' error. Nothing that arrives with one of
//     our ids is ever answered, whoever sent it; an answer from anyone but the service is
//     ignored (ids alone are guessable).
//   - One publish in flight per registration: messages arriving meanwhile update the summary
//     that is sent when the answer comes (coalescing). Whatever an app server does — answer
//     with errors, echo stanzas back, never answer — the module holds at most one pending
//     publish and one waiting summary per registration, and max_pending overall.
//   - A message from the app server's own domain triggers no push to that app server, so a
//     component that answers a publish with a chat message cannot drive a loop through a
//     socket, where hop counts do not survive.

import { Packet } from '../../server/core/packet.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { StanzaError } from '../../server/errors.ts';
import type { Logger } from '../../server/log.ts';
import type { PushOptions } from './config.ts';
import { registrationKey, type Registration, type RegistrationStore } from './registrations.ts';
import { publishIq, type Summary } from './summary.ts';
import { RateLimitedLog } from './rate-log.ts';

export interface PushStats {
  /** Messages that asked for a push (offline or unreachable recipient, with a body). */
  triggered: number;
  /** Publish IQs sent. */
  published: number;
  results: number;
  errors: number;
  timeouts: number;
  /** Registrations disabled after an error answer. */
  disabled: number;
  /** Summaries folded into the next publish because one was in flight. */
  coalesced: number;
  /** Skipped: the queue of messages waiting for their registrations was full. */
  droppedQueueFull: number;
  /** Skipped: max_pending publishes were already waiting for answers. */
  droppedPendingFull: number;
  /** Skipped: the message came from the registration's own app server domain. */
  skippedSelf: number;
  /** IQ answers carrying one of our ids that matched nothing (late, forged, wrong sender). */
  strayAnswers: number;
}

export const newPushStats = (): PushStats => ({
  triggered: 0, published: 0, results: 0, errors: 0, timeouts: 0, disabled: 0, coalesced: 0,
  droppedQueueFull: 0, droppedPendingFull: 0, skippedSelf: 0, strayAnswers: 0,
});

interface Job {
  readonly user: Jid;
  readonly sender: Jid;
  readonly body: string | undefined;
  readonly count: number;
  readonly hops: number;
}

interface Pending {
  readonly slot: string;
  readonly user: Jid;
  readonly service: Jid;
  readonly registration: Registration;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  /** The summary to send when the publish in flight is answered. */
  next: { summary: Summary; hops: number } | undefined;
}

export interface PublisherDeps {
  route(packet: Packet): void;
  registrations: RegistrationStore;
  options: PushOptions;
  logger: Logger;
  stats: PushStats;
}

export class PushPublisher {
  private readonly queue: Job[] = [];
  private draining = false;
  private readonly pending = new Map<string, Pending>();
  /** Registrations with a publish in flight. */
  private readonly slots = new Map<string, Slot>();
  /** Registrations being disabled: a job that read them before the removal must not publish again. */
  private readonly disabling = new Set<string>();
  private readonly unread = new Map<string, number>();
  private readonly idPrefix = 'push-' + Math.random().toString(36).slice(2, 10) + '-';
  private nextId = 0;
  private readonly rateLog: RateLimitedLog;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly deps: PublisherDeps) {
    this.rateLog = new RateLimitedLog(deps.logger);
  }

  /** A message with a body reached a user who cannot see it now. Synchronous; the work is queued. */
  notify(user: Jid, sender: Jid, body: string | undefined, hops: number): void {
    if (this.stopped) return;
    const stats = this.deps.stats;
    stats.triggered++;
    const key = user.bare().toString();
    const count = (this.unread.get(key) ?? 0) + 1;
    this.unread.delete(key);
    this.unread.set(key, count);
    while (this.unread.size > this.deps.options.max_tracked_users) this.unread.delete(this.unread.keys().next().value!);
    if (this.queue.length >= this.deps.options.max_queue) {
      stats.droppedQueueFull++;
      this.rateLog.warn('push_queue_full', { user: key, queued: this.queue.length });
      return;
    }
    this.queue.push({ user: user.bare(), sender, body, count, hops });
    if (!this.draining) void this.drain();
  }

  /** The user is back (available presence): the unread count starts again. */
  resetCount(user: Jid): void {
    this.unread.delete(user.bare().toString());
  }

  /**
   * Takes an IQ answer addressed to a local user if it carries one of our ids. True: it was
   * ours (settled or deliberately dropped) and must not be routed further.
   */
  takeAnswer(packet: Packet): boolean {
    if (packet.kind !== 'iq' || (packet.type !== 'result' && packet.type !== 'error')) return false;
    const id = packet.id;
    if (id === undefined || !id.startsWith(this.idPrefix)) return false;
    const p = this.pending.get(id);
    if (p === undefined || !p.service.equals(packet.from) || !p.user.equals(packet.to.bare())) {
      this.deps.stats.strayAnswers++;
      this.rateLog.warn('push_stray_answer', { from: packet.from.toString(), type: packet.type });
      return true;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (packet.type === 'result') {
      this.deps.stats.results++;
      this.sendNext(p);
      return true;
    }
    this.deps.stats.errors++;
    const error = StanzaError.fromStanza(packet.element());
    if (error.type === 'wait') {
      this.rateLog.warn('push_publish_deferred', { user: p.user.toString(), service: p.service.toString(), condition: error.condition });
      this.sendNext(p);
      return true;
    }
    this.slots.delete(p.slot);
    this.disable(p, error.condition);
    return true;
  }

  /** Publishes waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Messages waiting to be turned into publishes. */
  get queueLength(): number {
    return this.queue.length;
  }

  /** Registrations with a publish in flight (each holds at most one waiting summary). */
  get inFlight(): number {
    return this.slots.size;
  }

  get trackedUsers(): number {
    return this.unread.size;
  }

  /** Resolves once the queue is empty (publishes may still await answers). */
  idle(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.slots.clear();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const job = this.queue.shift()!;
        let registrations: readonly Registration[];
        try {
          registrations = await this.deps.registrations.list(job.user);
        } catch (err) {
          this.rateLog.warn('push_registrations_unreadable', { user: job.user.toString(), error: err });
          continue;
        }
        for (const r of registrations) this.publish(job, r);
      }
    } finally {
      this.draining = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private publish(job: Job, registration: Registration): void {
    const stats = this.deps.stats;
    const service = tryParseJid(registration.service);
    if (service === undefined) return;
    if (job.sender.domain === service.domain) {
      stats.skippedSelf++;
      return;
    }
    const opts = this.deps.options;
    const summary: Summary = {
      messageCount: job.count,
      lastSender: opts.include_sender ? job.sender.bare().toString() : undefined,
      lastBody: opts.include_body && job.body !== undefined ? job.body.slice(0, opts.max_body_length) : undefined,
    };
    const slotKey = job.user.toString() + '\n' + registrationKey(registration.service, registration.node);
    if (this.disabling.has(slotKey)) return;
    const slot = this.slots.get(slotKey);
    if (slot !== undefined) {
      stats.coalesced++;
      slot.next = { summary, hops: job.hops };
      return;
    }
    this.send(slotKey, job.user, service, registration, summary, job.hops);
  }

  private send(slotKey: string, user: Jid, service: Jid, registration: Registration, summary: Summary, hops: number): void {
    const stats = this.deps.stats;
    if (this.pending.size >= this.deps.options.max_pending) {
      stats.droppedPendingFull++;
      this.slots.delete(slotKey);
      this.rateLog.warn('push_pending_full', { pending: this.pending.size });
      return;
    }
    const id = this.idPrefix + (this.nextId++).toString(36);
    const iq = publishIq(registration, summary);
    iq.attrs.id = id;
    iq.attrs.from = user.toString();
    iq.attrs.to = service.toString();
    const timer = setTimeout(() => this.timeout(id), this.deps.options.publish_timeout);
    (timer as { unref?: () => void }).unref?.();
    this.slots.set(slotKey, { next: undefined });
    this.pending.set(id, { slot: slotKey, user, service, registration, timer });
    const packet = Packet.fromElement(iq, user, service);
    packet.hops = hops + 1;
    stats.published++;
    // May answer synchronously (a local error, an unknown domain): takeAnswer runs inside.
    this.deps.route(packet);
  }

  private sendNext(p: Pending): void {
    const slot = this.slots.get(p.slot);
    this.slots.delete(p.slot);
    if (slot?.next === undefined || this.stopped) return;
    this.send(p.slot, p.user, p.service, p.registration, slot.next.summary, slot.next.hops);
  }

  private timeout(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.deps.stats.timeouts++;
    this.rateLog.warn('push_publish_timeout', { user: p.user.toString(), service: p.service.toString() });
    this.sendNext(p);
  }

  private disable(p: Pending, condition: string): void {
    const { registration } = p;
    this.deps.logger.info('push_registration_disabled', {
      user: p.user.toString(),
      service: registration.service,
      node: registration.node,
      condition,
    });
    this.disabling.add(p.slot);
    void this.deps.registrations.disable(p.user, registration.service, registration.node).then(
      (n) => { if (n > 0) this.deps.stats.disabled++; },
      (err: unknown) => this.rateLog.warn('push_disable_failed', { user: p.user.toString(), error: err }),
    ).finally(() => this.disabling.delete(p.slot));
  }
}

