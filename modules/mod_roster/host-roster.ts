// What the roster, subscription and presence parts of mod_roster share on one host: the
// store, the per-user task chains, roster pushes and delivery helpers.

import { randomBytes } from 'node:crypto';
import type { ModuleContext } from '../../server/core/registry.ts';
import { AVAILABLE_RESOURCES, builtInAudience, type Audience } from '../../server/core/audiences.ts';
import { Packet } from '../../server/core/packet.ts';
import type { Session } from '../../server/core/sessions.ts';
import { makeJid, type Jid } from '../../server/jid.ts';
import { NS_ROSTER } from '../../server/ns.ts';
import type { RosterItem, RosterStore } from '../../server/storage/roster.ts';
import { Element } from '../../server/xml/element.ts';
import { itemElement, removedItemElement } from './items.ts';
import { SerialQueues } from './serial.ts';
import type { SubState } from './subscription.ts';

export interface RosterOptions {
  versioning: boolean;
  pre_approval: boolean;
  max_items: number;
  max_name_length: number;
  max_group_length: number;
  max_groups: number;
  max_queued_per_user: number;
}

/** An item and its pending-in flag: the full Appendix A state of one contact. */
export interface ContactState {
  readonly item: RosterItem | undefined;
  readonly pendingIn: boolean;
  readonly state: SubState;
}

export class HostRoster {
  readonly host: string;
  readonly ctx: ModuleContext;
  readonly opts: RosterOptions;
  readonly store: RosterStore;
  readonly queues: SerialQueues;
  /** The resources that fetched the roster (RFC 6121 §2.1.6), on whichever worker holds them. */
  private readonly interested: Audience;
  private readonly available: Audience;

  constructor(ctx: ModuleContext, opts: RosterOptions) {
    this.host = ctx.host;
    this.ctx = ctx;
    this.opts = opts;
    this.store = ctx.storage.roster;
    this.queues = new SerialQueues(ctx.logger, opts.max_queued_per_user, (done) => ctx.trackWrite(done));
    this.interested = ctx.defineAudience('roster_interested', (session) => session.interested);
    this.available = builtInAudience(ctx.host, AVAILABLE_RESOURCES);
  }

  /** Queues work for one user (a bare JID), after that user's earlier work. False: the chain is full. */
  run(user: Jid, what: string, task: () => unknown): boolean {
    return this.queues.run(user.bare().toString(), what, task);
  }

  async contact(user: Jid, contact: string): Promise<ContactState> {
    const [item, pending] = await Promise.all([
      this.store.getItem(this.host, user.local, contact),
      this.store.getPending(this.host, user.local, contact),
    ]);
    return {
      item,
      pendingIn: pending !== undefined,
      state: { subscription: item?.subscription ?? 'none', pendingOut: item?.ask ?? false, pendingIn: pending !== undefined },
    };
  }

  /** Stores an item and pushes it to the user's interested resources. */
  async save(user: Jid, item: RosterItem): Promise<void> {
    const version = await this.store.put(this.host, user.local, item);
    this.push(user, itemElement(item), version);
  }

  /** Removes an item and pushes the removal; false when there was none. */
  async drop(user: Jid, contact: string): Promise<boolean> {
    const version = await this.store.remove(this.host, user.local, contact);
    if (version === undefined) return false;
    this.push(user, removedItemElement(contact), version);
    return true;
  }

  /** A roster push (RFC 6121 §2.1.6) to every resource of the user that fetched the roster, on any worker. */
  push(user: Jid, item: Element, version: number): void {
    const bare = user.bare();
    this.ctx.router.deliverToAudience(bare, this.interested, () => {
      const query = new Element('query', { xmlns: NS_ROSTER, ver: this.opts.versioning ? String(version) : undefined });
      query.append(item.clone());
      const iq = new Element('iq', { type: 'set', id: 'push-' + randomBytes(6).toString('base64url'), from: bare.toString(), to: bare.toString() });
      iq.append(query);
      return Packet.fromElement(iq, bare, bare);
    });
  }

  /** Delivers a packet as addressed to every available resource of a local user, on any worker. */
  deliverToAvailable(user: Jid, packet: Packet): void {
    this.ctx.router.deliverToAudience(user.bare(), this.available, packet, { keepTo: true });
  }

  /** Delivers a packet to every available resource of a local user, readdressed to each, on any worker. */
  deliverToEachAvailable(user: Jid, packet: Packet): void {
    this.ctx.router.deliverToAudience(user.bare(), this.available, packet);
  }

  availableSessions(user: Jid): Session[] {
    return this.ctx.sessions.resources(user.bare()).filter((s) => s.available);
  }

  /** A server-generated presence from `from` to `to`, caused by `cause`. */
  presence(cause: Packet | undefined, from: Jid, to: Jid, type?: string): Packet {
    const el = new Element('presence', { from: from.toString(), to: to.toString(), type });
    if (cause !== undefined) return Packet.derive(cause, el, from, to);
    return Packet.fromElement(el, from, to);
  }

  hostJid(): Jid {
    return makeJid('', this.host);
  }
}
