// Presence (RFC 6121 §4): broadcast of a user's presence to the contacts subscribed to it,
// probes to the contacts the user is subscribed to, answers to probes, directed presence,
// and the unavailable presence everyone who saw the user available gets at the end.
//
// The c2s stream records availability itself (sessions.setAvailable/setUnavailable run
// user_available/unset_presence) and never routes presence without 'to'; the broadcast is
// done here. The last available presence of each session is kept (detached) for probes.
//
// Every step that reads the roster runs on the user's task chain, so a presence change, a
// subscription change and a roster set of one user take effect in the order they arrived.
//
// Workers: the last presence of a session is known to the worker holding it. A probe (or a
// new subscriber) is answered here for the resources bound here, and the other workers are
// asked to answer for theirs with a notice ('answer_probe'); 'unavailable' is the answer only
// when the user has no available resource on any worker.

import type { Packet } from '../../server/core/packet.ts';
import type { Session } from '../../server/core/sessions.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { Element } from '../../server/xml/element.ts';
import { Packet as PacketClass } from '../../server/core/packet.ts';
import type { HostRoster } from './host-roster.ts';
import { hasFrom, hasTo } from './subscription.ts';
import { parseStoredElement } from '../stored-xml.ts';

export class PresenceTracker {
  private readonly r: HostRoster;
  /** The last available presence of each available session, without addresses. */
  private readonly last = new Map<Session, Element>();
  /** Entities that got directed available presence from a session (full or bare JIDs). */
  private readonly directed = new Map<Session, Set<string>>();
  /** Sessions that just sent unavailable presence, waiting for user_send_packet to show the stanza. */
  private readonly awaitingStanza = new Set<Session>();
  private readonly unavailableStanza = new Map<Session, Element>();

  constructor(roster: HostRoster) {
    this.r = roster;
    roster.ctx.onWorkerNotice(ANSWER_PROBE, (data) => {
      const request = parseProbeRequest(data);
      if (request !== undefined) this.answerFromHere(undefined, request.user, request.to);
    });
  }

  /** The last presence of an available session (a copy), for answering probes and new subscribers. */
  lastPresence(session: Session): Element | undefined {
    return this.last.get(session)?.clone();
  }

  /** user_available: initial presence or a change while available. */
  onAvailable(session: Session, presence: Packet): void {
    const el = presence.detach().element().clone();
    delete el.attrs.to;
    delete el.attrs.from;
    const initial = !this.last.has(session);
    this.last.set(session, el);
    const user = session.jid.bare();
    this.r.run(user, 'presence_broadcast', async () => {
      const { items } = await this.r.store.get(this.r.host, user.local);
      const out = PacketClass.derive(presence, el, session.jid, user);
      for (const item of items) {
        if (!hasFrom(item.subscription)) continue;
        const to = tryParseJid(item.jid);
        if (to !== undefined) this.r.ctx.route(out.retarget(to));
      }
      // §4.2.2: the user's own available resources see it too, including the sender.
      this.r.deliverToEachAvailable(user, out);
      if (!initial) return;
      // §4.3.1: probe the contacts whose presence the user receives.
      for (const item of items) {
        if (!hasTo(item.subscription)) continue;
        const to = tryParseJid(item.jid);
        if (to !== undefined) this.r.ctx.route(this.r.presence(presence, user, to, 'probe'));
      }
      // §3.1.3: subscription requests that arrived while the user was offline.
      if (session.available) {
        for (const request of await this.r.store.pending(this.r.host, user.local)) {
          const stanza = parseStoredElement(request.stanza);
          const from = stanza === undefined ? undefined : tryParseJid(request.jid);
          if (stanza === undefined || from === undefined) continue;
          stanza.attrs.from = from.toString();
          stanza.attrs.to = user.toString();
          this.r.ctx.router.deliver(session, PacketClass.fromElement(stanza, from, user));
        }
      }
    });
  }

  /** unset_presence: unavailable presence from the client, or a disconnect. */
  onUnavailable(session: Session): void {
    this.last.delete(session);
    const targets = this.directed.get(session);
    this.directed.delete(session);
    // Still bound: the client sent <presence type='unavailable'/>, whose stanza (status and
    // all) user_send_packet shows next, before this task runs.
    const stillBound = this.r.ctx.sessions.get(session.jid) === session;
    if (stillBound) this.awaitingStanza.add(session);
    const user = session.jid.bare();
    this.r.run(user, 'presence_unavailable', async () => {
      const el = this.unavailableStanza.get(session) ?? new Element('presence', { type: 'unavailable' });
      this.unavailableStanza.delete(session);
      this.awaitingStanza.delete(session);
      el.attrs.type = 'unavailable';
      const out = PacketClass.fromElement(el, session.jid, user);
      const { items } = await this.r.store.get(this.r.host, user.local);
      const sent = new Set<string>();
      for (const item of items) {
        if (!hasFrom(item.subscription)) continue;
        const to = tryParseJid(item.jid);
        if (to === undefined) continue;
        sent.add(to.toString());
        this.r.ctx.route(out.retarget(to));
      }
      // §4.6.3: entities that got directed presence learn the user left, unless told already.
      for (const target of targets ?? []) {
        const to = tryParseJid(target);
        if (to === undefined || sent.has(target) || sent.has(to.bare().toString())) continue;
        this.r.ctx.route(out.retarget(to));
      }
      this.r.deliverToEachAvailable(user, out);
      if (stillBound && this.r.ctx.sessions.get(session.jid) === session) this.r.ctx.router.deliver(session, out.retarget(session.jid));
    });
  }

  /** user_send_packet for presence: captures unavailable stanzas and tracks directed presence. */
  onSend(session: Session, packet: Packet): void {
    const el = packet.element();
    const type = packet.type;
    if (el.attrs.to === undefined) {
      if (type === 'unavailable' && this.awaitingStanza.delete(session)) {
        const copy = el.clone();
        delete copy.attrs.to;
        delete copy.attrs.from;
        this.unavailableStanza.set(session, copy);
      }
      return;
    }
    if (type !== undefined && type !== 'unavailable') return;
    const to = packet.to;
    if (to.equals(session.jid.bare()) || to.equals(session.jid)) return;
    // §4.6: directed presence while available is remembered, to be undone at unavailable.
    let set = this.directed.get(session);
    if (type === undefined) {
      if (!session.available) return;
      if (set === undefined) this.directed.set(session, (set = new Set()));
      set.add(to.toString());
    } else {
      set?.delete(to.toString());
    }
  }

  /** presence_probe for a local user (§4.3.2). */
  onProbe(packet: Packet, to: Jid): void {
    packet.detach();
    const user = to.bare();
    const prober = packet.from;
    this.r.run(user, 'presence_probe', async () => {
      const own = prober.bare().equals(user);
      if (!own) {
        const item = await this.r.store.getItem(this.r.host, user.local, prober.bare().toString());
        // Not subscribed: nothing is revealed (the probe is ignored, §4.3.2).
        if (item === undefined || !hasFrom(item.subscription)) return;
      }
      this.answerProbe(packet, user, prober);
    });
  }

  /** Sends the user's current presence to someone entitled to it (a probe, a new subscriber). */
  answerProbe(cause: Packet | undefined, user: Jid, to: Jid): void {
    const here = this.r.ctx.sessions.resources(user);
    const elsewhere = this.r.ctx.router.accountResources(user).some((s) => s.available && !here.includes(s as Session));
    if (elsewhere) this.r.ctx.notifyWorkers(ANSWER_PROBE, JSON.stringify({ user: user.toString(), to: to.toString() }));
    if (!this.answerFromHere(cause, user, to) && !elsewhere) this.r.ctx.route(this.r.presence(cause, user, to, 'unavailable'));
  }

  /** The presence of each available resource bound here, to `to`; false when there is none. */
  private answerFromHere(cause: Packet | undefined, user: Jid, to: Jid): boolean {
    const available = this.r.availableSessions(user).filter((s) => this.last.has(s));
    for (const s of available) {
      const el = this.last.get(s)!.clone();
      el.attrs.from = s.jid.toString();
      el.attrs.to = to.toString();
      const p = cause === undefined ? PacketClass.fromElement(el, s.jid, to) : PacketClass.derive(cause, el, s.jid, to);
      this.r.ctx.route(p);
    }
    return available.length > 0;
  }

  /** Unavailable presence from each available resource of the user, on any worker, to `to` (its subscription from the user ended). */
  sendUnavailableFromAll(cause: Packet | undefined, user: Jid, to: Jid): void {
    for (const s of this.r.ctx.router.accountResources(user)) {
      if (s.available) this.r.ctx.route(this.r.presence(cause, s.jid, to, 'unavailable'));
    }
  }

  /** A session left the table: forget everything about it. */
  forget(session: Session): void {
    this.last.delete(session);
    this.directed.delete(session);
    this.awaitingStanza.delete(session);
    this.unavailableStanza.delete(session);
  }
}

/** Worker notice: answer a probe for the user's resources bound in this worker. */
const ANSWER_PROBE = 'answer_probe';

function parseProbeRequest(data: string): { user: Jid; to: Jid } | undefined {
  try {
    const v = JSON.parse(data) as { user?: unknown; to?: unknown };
    const user = typeof v.user === 'string' ? tryParseJid(v.user) : undefined;
    const to = typeof v.to === 'string' ? tryParseJid(v.to) : undefined;
    return user === undefined || to === undefined ? undefined : { user: user.bare(), to };
  } catch {
    return undefined;
  }
}
