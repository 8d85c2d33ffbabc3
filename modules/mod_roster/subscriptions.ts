// Subscription stanzas (RFC 6121 §3): outbound ones a local user sends (user_send_packet),
// inbound ones addressed to a local user (roster_in_subscription), and the removal of a roster
// item, which ends subscriptions too (§2.5.2). State changes follow the Appendix A tables in
// subscription.ts; this file applies them: stores items, pushes them, routes or delivers the
// stanza, and sends the presence a changed subscription calls for.

import { Packet } from '../../server/core/packet.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import type { RosterItem } from '../../server/storage/roster.ts';
import { Element } from '../../server/xml/element.ts';
import type { ContactState, HostRoster } from './host-roster.ts';
import type { PresenceTracker } from './presence.ts';
import { hasFrom, inbound, outbound, type SubState, type SubscriptionType } from './subscription.ts';

export class Subscriptions {
  private readonly r: HostRoster;
  private readonly presence: PresenceTracker;

  constructor(roster: HostRoster, presence: PresenceTracker) {
    this.r = roster;
    this.presence = presence;
  }

  /** A subscription stanza from a local user to `contact`. The 'from' goes out as the user's bare JID (§3.1.2). */
  async outbound(user: Jid, contact: Jid, type: SubscriptionType, packet: Packet): Promise<void> {
    user = user.bare();
    contact = contact.bare();
    const current = await this.r.contact(user, contact.toString());
    const t = outbound(type, current.state);
    const next = t.next ?? current.state;
    let approved = current.item?.approved ?? false;
    if (!t.forward && type === 'subscribed' && !hasFrom(current.state.subscription) && this.r.opts.pre_approval) {
      approved = true; // §3.4: a pre-approval, kept until the contact asks
    } else if (type === 'unsubscribed' || (type === 'subscribed' && t.forward)) {
      approved = false; // §3.4.2: cancelled, or used up
    }
    await this.apply(user, contact, current, next, approved);
    if (!t.forward) return;
    const el = stanzaCopy(packet, type);
    el.attrs.from = user.toString();
    el.attrs.to = contact.toString();
    this.r.ctx.route(Packet.derive(packet, el, user, contact));
    if (type === 'subscribed') {
      // §3.1.5: the new subscriber gets the user's current presence.
      this.presence.answerProbe(packet, user, contact);
    } else if (type === 'unsubscribed' && hasFrom(current.state.subscription)) {
      // §3.2.2: a cancelled subscriber learns the user is gone.
      this.presence.sendUnavailableFromAll(packet, user, contact);
    }
  }

  /** A subscription stanza from `contact` to a local user. */
  async inbound(user: Jid, contact: Jid, type: SubscriptionType, packet: Packet): Promise<void> {
    user = user.bare();
    contact = contact.bare();
    if (contact.equals(user)) return;
    const current = await this.r.contact(user, contact.toString());
    if (type === 'subscribe') {
      await this.inboundSubscribe(user, contact, current, packet);
      return;
    }
    const t = inbound(type, current.state);
    if (t.next !== undefined) await this.apply(user, contact, current, t.next, current.item?.approved ?? false);
    if (t.forward) this.r.deliverToAvailable(user, inboundPacket(packet, type, contact, user));
    if (type === 'unsubscribe' && hasFrom(current.state.subscription)) {
      // §3.3.3: the former subscriber no longer sees the user, and is told so.
      this.presence.sendUnavailableFromAll(packet, user, contact);
    }
  }

  private async inboundSubscribe(user: Jid, contact: Jid, current: ContactState, packet: Packet): Promise<void> {
    if (hasFrom(current.state.subscription)) {
      // §3.1.3: already subscribed; the server answers for the user.
      this.r.ctx.route(this.r.presence(packet, user, contact, 'subscribed'));
      return;
    }
    if (current.item?.approved) {
      // §3.4: pre-approved; answered at once as if the user had approved it now.
      const next = outbound('subscribed', { ...current.state, pendingIn: true }).next!;
      await this.apply(user, contact, current, next, false);
      this.r.ctx.route(this.r.presence(packet, user, contact, 'subscribed'));
      this.presence.answerProbe(packet, user, contact);
      return;
    }
    const t = inbound('subscribe', current.state);
    if (t.next === undefined) return; // a request is already waiting for the user's answer
    const el = inboundPacket(packet, 'subscribe', contact, user).element();
    await this.r.store.setPending(this.r.host, user.local, { jid: contact.toString(), stanza: el.toString() });
    // Without an available resource the request waits for the next login (PresenceTracker).
    this.r.deliverToAvailable(user, Packet.derive(packet, el, contact, user));
  }

  /** Roster remove (§2.5.2): ends every subscription with the contact, then drops the item. */
  async removeItem(user: Jid, contact: Jid, cause: Packet | undefined): Promise<boolean> {
    user = user.bare();
    const current = await this.r.contact(user, contact.toString());
    if (current.item === undefined) return false;
    const { subscription, pendingOut, pendingIn } = current.state;
    if (subscription === 'to' || subscription === 'both' || pendingOut) {
      this.r.ctx.route(this.r.presence(cause, user, contact, 'unsubscribe'));
    }
    if (hasFrom(subscription) || pendingIn) {
      this.r.ctx.route(this.r.presence(cause, user, contact, 'unsubscribed'));
    }
    if (hasFrom(subscription)) this.presence.sendUnavailableFromAll(cause, user, contact);
    if (pendingIn) await this.r.store.removePending(this.r.host, user.local, contact.toString());
    await this.r.drop(user, contact.toString());
    return true;
  }

  /** Stores the new state: the item (pushed when it changed) and the pending-in record. */
  private async apply(user: Jid, contact: Jid, current: ContactState, next: SubState, approved: boolean): Promise<void> {
    if (current.pendingIn && !next.pendingIn) await this.r.store.removePending(this.r.host, user.local, contact.toString());
    const base: RosterItem = current.item ?? { jid: contact.toString(), name: undefined, subscription: 'none', ask: false, approved: false, groups: [] };
    const item: RosterItem = { ...base, subscription: next.subscription, ask: next.pendingOut, approved };
    const empty = item.subscription === 'none' && !item.ask && !item.approved;
    // A contact the user never added and has no relation with does not become an item.
    if (current.item === undefined && empty) return;
    if (current.item !== undefined && sameItem(current.item, item)) return;
    await this.r.save(user, item);
  }
}

function sameItem(a: RosterItem, b: RosterItem): boolean {
  return a.subscription === b.subscription && a.ask === b.ask && a.approved === b.approved;
}

/** The stanza's content (status and extensions kept) with the subscription type set. */
function stanzaCopy(packet: Packet, type: SubscriptionType): Element {
  const el = packet.element().clone();
  el.attrs.type = type;
  delete el.attrs.id;
  if (packet.id !== undefined) el.attrs.id = packet.id;
  return el;
}

/** The inbound stanza as the user sees it: from the contact's bare JID (§3.1.3). */
function inboundPacket(packet: Packet, type: SubscriptionType, contact: Jid, user: Jid): Packet {
  const el = stanzaCopy(packet, type);
  el.attrs.from = contact.toString();
  el.attrs.to = user.toString();
  return Packet.derive(packet, el, contact, user);
}

export function subscriptionType(type: string | undefined): SubscriptionType | undefined {
  return type === 'subscribe' || type === 'subscribed' || type === 'unsubscribe' || type === 'unsubscribed' ? type : undefined;
}

/** The bare JID a roster item names, if valid. */
export function contactJid(item: RosterItem): Jid | undefined {
  return tryParseJid(item.jid);
}
