// XEP-0160: messages for a user with no available resource are stored and delivered when the
// user next sends available presence with a non-negative priority, then deleted (each message
// is delivered once: reading and deleting are one transaction).
//
// What is stored (the router only offers chat, normal and unknown-type messages; headline,
// groupchat and error messages never reach offline_message):
//   - a message with a <body/>, or with a <store xmlns='urn:xmpp:hints'/> hint (XEP-0334);
//   - a message without a body only when store_without_body is true;
//   - never one with a <no-store/> or <no-permanent-store/> hint.
// A message that is not stored is answered with service-unavailable, except one that carries
// nothing but a chat state (XEP-0085 §5.6: not stored, and not worth an error either): that one
// is dropped, which is the one deliberate drop here.
//
// Above max_messages stored messages per user, new ones are refused with service-unavailable
// (security rule 10: every queue bounded). Each stored message gets a <delay/> (XEP-0203)
// saying when the server received it.

import { defineModule } from '../server/core/registry.ts';
import { STOP, type Hooks } from '../server/core/hooks.ts';
import { Packet } from '../server/core/packet.ts';
import type { Session } from '../server/core/sessions.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_DELAY, NS_HINTS } from '../server/ns.ts';
import { tryParseJid } from '../server/jid.ts';
import type { Element } from '../server/xml/element.ts';
import { SerialQueues } from './mod_roster/serial.ts';
import { parseStoredElement } from './stored-xml.ts';

const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';
/** XEP-0160 §4: the disco feature of servers that store messages offline. */
export const FEATURE_MSGOFFLINE = 'msgoffline';

const schema = s.object({
  /** Most messages stored per user; more are refused with service-unavailable. */
  max_messages: s.int({ min: 1 }).default(100),
  /** Store messages that have no <body/> (receipts, markers, encrypted payloads without fallback). */
  store_without_body: s.bool().default(false),
});

type Options = Infer<typeof schema>;

const running = new WeakMap<Hooks, Map<string, SerialQueues>>();

export const modOffline = defineModule<Options>({
  name: 'mod_offline',
  xeps: ['XEP-0160', 'XEP-0203'],
  defaults: schema.parse({}, ['modules', 'mod_offline']),
  schema,
  start(host, opts, ctx) {
    const store = ctx.storage.offline;
    const queues = new SerialQueues(ctx.logger, undefined, (done) => ctx.trackWrite(done));
    let hosts = running.get(ctx.hooks);
    if (hosts === undefined) running.set(ctx.hooks, (hosts = new Map()));
    hosts.set(host, queues);
    // Messages handed over at shutdown are still being written: finish before storage closes.
    ctx.onStop(() => queues.idle());
    ctx.onStop(() => {
      if (hosts.get(host) === queues) hosts.delete(host);
    });
    ctx.addFeature(FEATURE_MSGOFFLINE);
    // Sessions that already got their stored messages (or never need them again).
    const served = new WeakSet<Session>();

    ctx.addHook('offline_message', ({ packet, to }) => {
      const type = packet.type ?? 'normal';
      if (type === 'headline' || type === 'groupchat' || type === 'error') return;
      const el = packet.element();
      const decision = storeDecision(el, opts.store_without_body);
      if (decision === 'drop') return STOP;
      if (decision === 'refuse') return;
      packet.detach();
      const copy = packet.element().clone();
      copy.attrs.from = packet.from.toString();
      copy.attrs.to = packet.to.toString();
      // One <delay/> from this server: a stanza rerouted after its session died already has
      // one stamped with when it was first sent, which is the time that matters.
      const delayed = copy.getChildren('delay', NS_DELAY).some((d) => d.attrs.from === host);
      if (!delayed) copy.c('delay', { xmlns: NS_DELAY, from: host, stamp: new Date().toISOString() });
      const user = to.bare();
      const queued = queues.run(user.toString(), 'offline_store', async () => {
        let stored: boolean;
        try {
          stored = await store.push(host, user.local, copy.toString(), opts.max_messages);
        } catch (err) {
          // Not stored is not "gone": the sender hears about it (security rule 6).
          ctx.logger.error('offline_store_failed', { user: user.toString(), error: err });
          ctx.router.bounce(packet, 'internal-server-error');
          return;
        }
        if (!stored) {
          ctx.logger.info('offline_store_full', { user: user.toString() });
          ctx.router.bounce(packet, 'service-unavailable');
        }
      });
      if (!queued) return; // too much waiting: the router answers service-unavailable
      return STOP;
    });

    ctx.addHook('user_available', ({ session }) => {
      if (session.priority < 0 || served.has(session)) return;
      served.add(session);
      const user = session.jid.bare();
      queues.run(user.toString(), 'offline_deliver', async () => {
        const messages = await store.popAll(host, user.local);
        for (const m of messages) {
          const el = parseStoredElement(m.stanza);
          const from = el?.attrs.from === undefined ? undefined : tryParseJid(el.attrs.from);
          if (el === undefined || from === undefined) continue;
          const packet = Packet.fromElement(el, from, user);
          // The session may have gone meanwhile: then the message goes where any new one would.
          if (ctx.sessions.get(session.jid) === session && session.available) ctx.router.deliver(session, packet.retarget(session.jid));
          else ctx.route(packet);
        }
      });
    });
  },
});

type Decision = 'store' | 'refuse' | 'drop';

function storeDecision(el: Element, storeWithoutBody: boolean): Decision {
  let body = false;
  let chatState = false;
  let other = false;
  for (const child of el.elements) {
    const ns = child.ns;
    if (ns === NS_HINTS) {
      if (child.localName === 'no-store' || child.localName === 'no-permanent-store') return 'refuse';
      if (child.localName === 'store') return 'store';
      continue;
    }
    if (child.localName === 'body') body = true;
    else if (ns === NS_CHATSTATES) chatState = true;
    else if (child.localName !== 'thread') other = true;
  }
  if (body || storeWithoutBody) return 'store';
  return chatState && !other ? 'drop' : 'refuse';
}

/** Resolves when offline work queued so far on a host has finished (tests). */
export async function offlineIdle(hooks: Hooks, host: string): Promise<void> {
  await running.get(hooks)?.get(host)?.idle();
}
