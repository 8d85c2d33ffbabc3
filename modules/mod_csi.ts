// XEP-0352 Client State Indication: a client says <inactive/> when its user is not looking
// (phone screen off) and <active/> when they are back. While inactive, stanzas that can
// wait — presence, and messages without a body (chat states, receipts) — are held back
// so the radio can sleep; anything urgent (a message with a body, directly or inside a
// carbon; IQs; errors) is delivered at once, after the held stanzas so order is kept.
//
// The queue is bounded: when it fills up it is flushed. A newer presence from the same
// address replaces the older one still queued (only the latest matters).
// This hook runs last on user_receive_packet (priority 90): carbons, blocking and the
// like have already decided what reaches the session. A session that ends while stanzas
// wait hands them to rerouteUndelivered (security rule 6): messages go to another
// resource, offline storage or back to the sender; presence is dropped.

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_CARBONS, NS_CSI, NS_FORWARD } from '../server/ns.ts';
import { Element } from '../server/xml/element.ts';
import { STOP } from '../server/core/hooks.ts';
import type { Packet } from '../server/core/packet.ts';
import type { Session } from '../server/core/sessions.ts';
import { rerouteUndelivered } from '../server/core/undelivered.ts';

const schema = s.object({
  /** Stanzas held for one inactive session before they are all delivered. */
  max_queue: s.int({ min: 1 }).default(100),
});
type Options = Infer<typeof schema>;

/** Whether a stanza must reach an inactive client now. */
export function isUrgent(packet: Packet): boolean {
  if (packet.kind === 'presence') return false;
  if (packet.kind !== 'message' || packet.type === 'error') return true;
  const message = packet.element();
  if (message.getChild('body') !== undefined) return true;
  // A carbon of a message with a body is as urgent as the message.
  for (const wrapper of message.elements) {
    if (wrapper.ns !== NS_CARBONS) continue;
    const inner = wrapper.getChild('forwarded', NS_FORWARD)?.getChild('message');
    if (inner?.getChild('body') !== undefined) return true;
  }
  return false;
}

/** Presence saying whether someone is online (not subscriptions, probes or errors). */
function isAvailability(packet: Packet): boolean {
  return packet.kind === 'presence' && (packet.type === undefined || packet.type === 'unavailable');
}

export const modCsi = defineModule<Options>({
  name: 'mod_csi',
  xeps: ['XEP-0352'],
  defaults: schema.parse({}, ['modules', 'mod_csi']),
  schema,
  start(_host, opts, ctx) {
    // Present only for inactive sessions.
    const held = new Map<Session, Packet[]>();

    const flush = (session: Session): void => {
      const queue = held.get(session);
      if (queue === undefined || queue.length === 0) return;
      held.set(session, []);
      for (const packet of queue) session.send(packet);
    };

    ctx.addHook('c2s_stream_features', ({ authenticated, features }) => {
      if (authenticated) features.push(new Element('csi', { xmlns: NS_CSI }));
    });

    ctx.addHook('c2s_stream_element', ({ session, element }) => {
      if (element.ns !== NS_CSI) return;
      if (element.localName === 'inactive') {
        if (!held.has(session)) held.set(session, []);
        return STOP;
      }
      if (element.localName === 'active') {
        flush(session);
        held.delete(session);
        return STOP;
      }
      return undefined;
    });

    ctx.addHook('user_receive_packet', ({ session, packet }) => {
      const queue = held.get(session);
      if (queue === undefined) return undefined;
      if (isUrgent(packet)) {
        flush(session);
        return undefined;
      }
      packet.detach();
      if (isAvailability(packet)) {
        const older = queue.findIndex((p) => isAvailability(p) && p.from.equals(packet.from));
        if (older >= 0) queue.splice(older, 1);
      }
      queue.push(packet);
      if (queue.length >= opts.max_queue) flush(session);
      return STOP;
    }, 90);

    ctx.addHook('session_closed', ({ session }) => {
      const queue = held.get(session);
      held.delete(session);
      for (const packet of queue ?? []) {
        // The element as addressed: rerouting reads 'from' and 'to' from it.
        const stanza = packet.element().clone();
        stanza.attrs.from = packet.from.toString();
        stanza.attrs.to = packet.to.toString();
        rerouteUndelivered(ctx, session.jid, stanza);
      }
    });
  },
});
