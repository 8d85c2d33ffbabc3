// XEP-0280 Message Carbons: every resource that enabled carbons sees the chat its other
// resources send and receive, so a conversation continues from phone to desktop.
//
//   sent:     user_send_packet — a copy wrapped in <sent><forwarded/></sent> goes to each
//             other enabled resource of the sender.
//   received: user_receive_packet — a copy wrapped in <received><forwarded/></received> goes
//             to each enabled resource that does not get the message itself.
//
// Eligible (§6): chat messages, normal messages with a body, and messages carrying chat
// states, receipts or markers; never errors, groupchat or headlines, nothing marked
// <private/> (carbons) or <no-copy/> (hints), and never a carbon itself.
//
// Security (§11): a <sent/> or <received/> wrapper is only meaningful from the user's own
// bare JID. One arriving from anyone else is a forgery (it would make a client show a message
// "sent" by its user); the wrapper is removed before delivery.
//
// Workers: "enabled" is state of the worker holding the session. A carbon is built once and
// goes to the 'carbons_enabled' audience (Router.deliverToAudience), so resources on the other
// workers get theirs, judged there. Who got the message directly is decided over the whole
// node (Router.accountResources); a bare-JID message delivered on two workers is carboned by
// the first copy only (Packet.laterCopy).

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_CARBONS, NS_FORWARD, NS_HINTS } from '../server/ns.ts';
import { xml, type Element } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';
import { Packet } from '../server/core/packet.ts';
import type { PeerSession } from '../server/core/router.ts';
import type { Session } from '../server/core/sessions.ts';
import type { Jid } from '../server/jid.ts';

const schema = s.object({});
type Options = Infer<typeof schema>;

const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';
const NS_RECEIPTS = 'urn:xmpp:receipts';
const NS_MARKERS = 'urn:xmpp:chat-markers:0';
const IM_PAYLOADS: ReadonlySet<string> = new Set([NS_CHATSTATES, NS_RECEIPTS, NS_MARKERS]);

/** Whether a message should be carboned (XEP-0280 §6, without the error case). */
export function isCarbonEligible(message: Element): boolean {
  const type = message.attr('type') ?? 'normal';
  if (type === 'error' || type === 'groupchat' || type === 'headline') return false;
  let imPayload = false;
  let body = false;
  for (const child of message.elements) {
    const ns = child.ns;
    if (ns === NS_CARBONS) return false; // <private/>, or a carbon itself
    if (ns === NS_HINTS && child.localName === 'no-copy') return false;
    if (ns === NS_FORWARD) return false;
    if (child.localName === 'body') body = true;
    if (IM_PAYLOADS.has(ns)) imPayload = true;
  }
  return type === 'chat' || body || imPayload;
}

function hasCarbonWrapper(message: Element): boolean {
  return message.elements.some((c) => c.ns === NS_CARBONS && (c.localName === 'sent' || c.localName === 'received'));
}

export const modCarboncopy = defineModule<Options>({
  name: 'mod_carboncopy',
  xeps: ['XEP-0280'],
  defaults: schema.parse({}, ['modules', 'mod_carboncopy']),
  schema,
  start(_host, _opts, ctx) {
    const enabled = new WeakSet<Session>();
    const carbonsEnabled = ctx.defineAudience('carbons_enabled', (session) => enabled.has(session));
    // A message to a bare JID is delivered to several sessions as one packet: carbon it once.
    const handled = new WeakSet<Packet>();
    ctx.addFeature(NS_CARBONS);

    const toggle = (req: { type: 'get' | 'set'; from: Jid; to: Jid }, on: boolean) => {
      if (req.type !== 'set') return new StanzaError('bad-request', { text: 'carbons are enabled with an IQ set' });
      if (!req.to.bare().equals(req.from.bare()) && !req.to.isDomain) return new StanzaError('forbidden');
      const session = ctx.sessions.get(req.from);
      if (session === undefined) return new StanzaError('item-not-found');
      if (on) enabled.add(session);
      else enabled.delete(session);
      return null;
    };
    // Clients send these without 'to' (→ their bare JID, 'sm') or to the server ('local').
    for (const scope of ['sm', 'local'] as const) {
      ctx.addIqHandler(scope, NS_CARBONS, 'enable', (req) => toggle(req, true));
      ctx.addIqHandler(scope, NS_CARBONS, 'disable', (req) => toggle(req, false));
    }

    // Addressed to the owner's bare JID; each recipient gets it with its own full JID.
    const carbonOf = (wrapper: 'sent' | 'received', packet: Packet, owner: Jid): Packet => {
      const original = packet.element().clone();
      original.attrs.from = packet.from.toString();
      original.attrs.to = packet.to.toString();
      const carbon = xml('message', { from: owner.toString(), to: owner.toString(), type: packet.type ?? 'normal' },
        xml(wrapper, { xmlns: NS_CARBONS }, xml('forwarded', { xmlns: NS_FORWARD }, original)));
      return Packet.derive(packet, carbon, owner, owner);
    };

    ctx.addHook('user_send_packet', ({ session, packet }) => {
      if (packet.kind !== 'message') return;
      const message = packet.element();
      if (!isCarbonEligible(message)) return;
      const owner = session.jid.bare();
      // Messages to oneself reach the other resources directly.
      if (packet.to.bare().equals(owner)) return;
      ctx.router.deliverToAudience(owner, carbonsEnabled, () => carbonOf('sent', packet, owner), { except: [session.jid] });
    });

    // Runs early: the forged wrapper must be gone before anything else looks at the message.
    ctx.addHook('user_receive_packet', ({ session, packet }) => {
      if (packet.kind !== 'message') return;
      const owner = session.jid.bare();
      const message = packet.element();
      if (hasCarbonWrapper(message)) {
        if (packet.from.equals(owner)) return; // a carbon we built
        const edited = packet.edit();
        for (const c of edited.elements) {
          if (c.ns === NS_CARBONS && (c.localName === 'sent' || c.localName === 'received')) edited.remove(c);
        }
        ctx.logger.info('carbon_forgery_stripped', { from: packet.from.toString(), to: session.jid.toString() });
        return;
      }
      if (handled.has(packet) || packet.laterCopy || !isCarbonEligible(message)) return;
      handled.add(packet);
      if (packet.from.bare().equals(owner)) return;
      const direct = directRecipients(ctx.router.accountResources(owner), packet.to);
      ctx.router.deliverToAudience(owner, carbonsEnabled, () => carbonOf('received', packet, owner), { except: direct });
    }, 10);

    ctx.addHook('session_closed', ({ session }) => {
      enabled.delete(session);
    });
  },
});

/**
 * The full JIDs the router delivers a message to itself (RFC 6121 §8.5, as Router does it),
 * among all of the account's sessions on the node.
 */
function directRecipients(sessions: readonly PeerSession[], to: Jid): Jid[] {
  if (to.resource !== '') {
    const exact = sessions.find((s) => s.jid.equals(to));
    if (exact !== undefined) return [exact.jid];
  }
  let best = -1;
  for (const s of sessions) if (s.available && s.priority > best) best = s.priority;
  return best < 0 ? [] : sessions.filter((s) => s.available && s.priority === best).map((s) => s.jid);
}
