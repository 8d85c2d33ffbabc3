// Property test of security rule 5 across the router and real modules: random stanzas (kinds,
// types, addresses, error children, payload namespaces) routed through a core running the IM
// modules, push, the in-server push node, a component that echoes everything back and a
// module that answers every error with a new error (the MongooseIM 2.2 pair). For every
// original stanza, every route() it causes — synchronously or later through storage, queues
// and timers — is counted, and:
//   - no call chain nests deeper than the hop budget (a packet at maxHops is dropped, not routed);
//   - the work per original stanza is bounded by a constant;
//   - once the work settles, nothing is left queued or pending.

import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { defineModule, type ModuleDefinition } from '../../../server/core/registry.ts';
import { Packet } from '../../../server/core/packet.ts';
import { Element } from '../../../server/xml/element.ts';
import { modPing } from '../../../modules/mod_ping.ts';
import { modVersion } from '../../../modules/mod_version.ts';
import { modDisco } from '../../../modules/mod_disco.ts';
import { modOffline } from '../../../modules/mod_offline.ts';
import { modRoster } from '../../../modules/mod_roster/index.ts';
import { modCarboncopy } from '../../../modules/mod_carboncopy.ts';
import { modBlocking } from '../../../modules/mod_blocking.ts';
import { modCsi } from '../../../modules/mod_csi.ts';
import { modPrivate } from '../../../modules/mod_private.ts';
import { modEventPusher, eventPusherState } from '../../../modules/mod_event_pusher/index.ts';
import { modPubsubPush } from '../../../modules/mod_pubsub_push/index.ts';
import { imHarness, HOST } from '../modules/im-harness.ts';
import { parseXml } from './fakes.ts';

const noOptions = { parse: () => ({}) };

/** Answers every error addressed to a local address with a fresh error back, later (derived: it keeps the hop count). */
const errorEcho = defineModule({
  name: 'mod_fuzz_error_echo',
  defaults: {},
  schema: noOptions,
  start(_host, _opts, ctx) {
    ctx.addHook('filter_local_packet', ({ packet: p }) => {
      if (p.type !== 'error' || p.kind === 'other') return;
      const el = new Element(p.kind, { from: p.to.toString(), to: p.from.toString(), type: 'error', id: p.id });
      el.c('error', { type: 'cancel' }).c('undefined-condition', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
      const reply = Packet.derive(p, el);
      queueMicrotask(() => ctx.route(reply));
    }, 1);
  },
}) as ModuleDefinition<unknown>;

const MODULES = [modPing, modVersion, modDisco, modOffline, modRoster, modCarboncopy, modBlocking, modCsi, modPrivate, modEventPusher, modPubsubPush, errorEcho] as ModuleDefinition<unknown>[];

const ADDRESSES = [
  'alice@example.com', 'alice@example.com/phone', 'alice@example.com/gone', 'bob@example.com', 'bob@example.com/x',
  'ghost@example.com', 'example.com', 'pubsub.example.com', 'echo.example.net', 'user@echo.example.net/r',
  'app.example.net', 'x@unknown.example/r', 'unknown.example',
];
const TYPES = [undefined, 'chat', 'normal', 'groupchat', 'headline', 'error', 'get', 'set', 'result', 'probe', 'subscribe', 'subscribed', 'unavailable', 'bogus'];
const PAYLOADS = [
  '', '<body>hi</body>', "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
  "<ping xmlns='urn:xmpp:ping'/>", "<query xmlns='http://jabber.org/protocol/disco#info'/>", "<query xmlns='jabber:iq:roster'/>",
  "<query xmlns='jabber:iq:version'/>", "<enable xmlns='urn:xmpp:push:0' jid='app.example.net' node='n'/>",
  "<enable xmlns='urn:xmpp:push:0' jid='pubsub.example.com' node='missing'/>",
  "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item><notification xmlns='urn:xmpp:push:0'/></item></publish></pubsub>",
  "<pubsub xmlns='http://jabber.org/protocol/pubsub'><create/></pubsub>", "<unknown xmlns='urn:example:x'/>",
];

const stanza = fc.record({
  kind: fc.constantFrom('message', 'presence', 'iq'),
  type: fc.constantFrom(...TYPES),
  from: fc.constantFrom(...ADDRESSES),
  to: fc.constantFrom(...ADDRESSES),
  payload: fc.array(fc.constantFrom(...PAYLOADS), { maxLength: 2 }),
});

test('no stanza makes more work than the hop budget allows, across modules, echoes and error loops', async () => {
  const h = await imHarness(MODULES, { users: ['alice', 'bob'] });
  const router = h.core.router;
  // A component that sends everything straight back (addresses swapped), half at once, half later.
  let flip = false;
  router.addDomainRoute('echo.example.net', {
    route(p) {
      const el = p.element().clone();
      el.attrs.from = p.to.toString();
      el.attrs.to = p.from.toString();
      const back = Packet.derive(p, el);
      flip = !flip;
      if (flip) router.route(back);
      else queueMicrotask(() => router.route(back));
    },
  });
  // An app server that answers every IQ with an error.
  router.addDomainRoute('app.example.net', {
    route(p) {
      if (p.kind !== 'iq' || p.type === 'error' || p.type === 'result') return;
      const el = new Element('iq', { type: 'error', id: p.id, from: p.to.toString(), to: p.from.toString() });
      el.c('error', { type: 'cancel' }).c('item-not-found', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
      setTimeout(() => router.route(Packet.derive(p, el)), 0);
    },
  });
  const phone = h.connect('alice@example.com/phone');
  h.connect('bob@example.com/x', { available: false });
  await h.iq(phone, "<iq type='set' id='en'><enable xmlns='urn:xmpp:push:0' jid='app.example.net' node='n'/></iq>");

  let depth = 0;
  let maxDepth = 0;
  let calls = 0;
  const original = router.route.bind(router);
  router.route = (p: Packet) => {
    calls++;
    depth++;
    maxDepth = Math.max(maxDepth, depth);
    try {
      original(p);
    } finally {
      depth--;
    }
  };

  let worst = 0;
  await fc.assert(
    fc.asyncProperty(stanza, async (s) => {
      const el = new Element(s.kind, { from: s.from, to: s.to, type: s.type, id: `fz${calls}` });
      for (const p of s.payload) el.append(parseFragment(p));
      calls = 0;
      maxDepth = 0;
      router.route(Packet.fromElement(el));
      await h.settle();
      await eventPusherState(h.core.hooks, HOST)!.idle();
      await h.settle();
      worst = Math.max(worst, calls);
      // A chain deeper than maxHops + 1 calls would mean a packet past the budget was routed.
      expect(maxDepth).toBeLessThanOrEqual(router.maxHops + 1);
      // Constant work per stanza: an amplifying loop would blow far past this.
      expect(calls).toBeLessThanOrEqual(4 * (router.maxHops + 1));
      expect(h.core.iq.pendingCount).toBe(0);
      expect(eventPusherState(h.core.hooks, HOST)!.push!.publisher.queueLength).toBe(0);
    }),
    { numRuns: 400, seed: 20_357 },
  );
  // The loops did happen (so the bound was exercised) and were cut.
  expect(router.stats.hopLimitDrops).toBeGreaterThan(0);
  expect(worst).toBeGreaterThan(router.maxHops / 2);
  // Every session still in place, nothing stuck.
  expect(h.core.sessions.size).toBe(2);
}, 60_000);

function parseFragment(text: string): Element | string {
  return text === '' ? '' : parseXml(text);
}
