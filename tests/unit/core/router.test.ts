// RFC 6121 §8.5 delivery rules, one row per case. alice@example.com/r sends everything;
// bob has several resources at different priorities, carol only a negative one, dave none,
// nobody@example.com does not exist.

import { beforeEach, describe, expect, test } from 'bun:test';
import { STOP } from '../../../server/core/hooks.ts';
import { Packet } from '../../../server/core/packet.ts';
import type { Core } from '../../../server/core/node.ts';
import { parseJid } from '../../../server/jid.ts';
import { StanzaError } from '../../../server/errors.ts';
import { FakeSession, normalized, packet, testCore, viewPacket } from './fakes.ts';

const USERS = new Set(['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com']);

interface World {
  core: Core;
  alice: FakeSession;
  sessions: FakeSession[];
}

function world(): World {
  const { core } = testCore({ userExists: (bare) => USERS.has(bare.toString()) });
  const sessions = [
    new FakeSession('alice@example.com/r', { priority: 0 }),
    new FakeSession('bob@example.com/phone', { priority: 5 }),
    new FakeSession('bob@example.com/desk', { priority: 5 }),
    new FakeSession('bob@example.com/tablet', { priority: 1 }),
    new FakeSession('bob@example.com/hidden', { priority: -1 }),
    new FakeSession('bob@example.com/unbound', { priority: 0, available: false }),
    new FakeSession('carol@example.com/neg', { priority: -1 }),
  ];
  for (const s of sessions) core.sessions.open(s);
  return { core, alice: sessions[0], sessions };
}

function send(w: World, stanza: string): void {
  w.core.router.route(packet(stanza));
}

/** Who received what: resource JIDs other than alice's, and the error condition alice got back. */
function outcome(w: World): { delivered: string[]; error: string | undefined } {
  const delivered = w.sessions.filter((s) => s !== w.alice && s.sent.length > 0).map((s) => s.jid.toString());
  for (const s of w.sessions) if (s !== w.alice) expect(s.sent.length).toBeLessThanOrEqual(1);
  expect(w.alice.sent.length).toBeLessThanOrEqual(1);
  const got = w.alice.sent[0];
  let error: string | undefined;
  if (got) {
    expect(got.type).toBe('error');
    error = StanzaError.fromStanza(got.element()).condition;
  }
  return { delivered, error };
}

const FROM = "from='alice@example.com/r'";
const BOB_TOP = ['bob@example.com/phone', 'bob@example.com/desk'];
const BOB_NONNEG = ['bob@example.com/phone', 'bob@example.com/desk', 'bob@example.com/tablet'];
const BOB_AVAILABLE = [...BOB_NONNEG, 'bob@example.com/hidden'];
const SU = 'service-unavailable';

// [case, stanza, delivered to, error returned to alice]
const CASES: Array<[string, string, string[], string | undefined]> = [
  // §8.5.1 no such user
  ['8.5.1 message to unknown user', `<message ${FROM} to='nobody@example.com' type='chat'><body>x</body></message>`, [], SU],
  ['8.5.1 message to unknown user full JID', `<message ${FROM} to='nobody@example.com/x'><body>x</body></message>`, [], SU],
  ['8.5.1 presence to unknown user dropped', `<presence ${FROM} to='nobody@example.com'/>`, [], undefined],
  ['8.5.1 subscribe to unknown user dropped', `<presence ${FROM} to='nobody@example.com' type='subscribe'/>`, [], undefined],
  ['8.5.1 iq to unknown user', `<iq ${FROM} to='nobody@example.com' type='get' id='1'><query xmlns='jabber:iq:version'/></iq>`, [], SU],
  ['8.5.1 error message to unknown user dropped', `<message ${FROM} to='nobody@example.com' type='error'/>`, [], undefined],
  ['8.5.1 iq result to unknown user dropped', `<iq ${FROM} to='nobody@example.com' type='result' id='1'/>`, [], undefined],
  // §8.5.2.1 bare JID, available resources
  ['8.5.2.1.1 chat → all resources at the highest non-negative priority', `<message ${FROM} to='bob@example.com' type='chat'><body>x</body></message>`, BOB_TOP, undefined],
  ['8.5.2.1.1 normal (no type) → highest priority', `<message ${FROM} to='bob@example.com'><body>x</body></message>`, BOB_TOP, undefined],
  ['8.5.2.1.1 unknown type treated as normal', `<message ${FROM} to='bob@example.com' type='bogus'><body>x</body></message>`, BOB_TOP, undefined],
  ['8.5.2.1.1 headline → every non-negative resource', `<message ${FROM} to='bob@example.com' type='headline'><body>x</body></message>`, BOB_NONNEG, undefined],
  ['8.5.2.1.1 groupchat → error', `<message ${FROM} to='bob@example.com' type='groupchat'><body>x</body></message>`, [], SU],
  ['8.5.2.1.1 error message dropped', `<message ${FROM} to='bob@example.com' type='error'><error type='cancel'/></message>`, [], undefined],
  ['8.5.2.1.2 available presence → every available resource', `<presence ${FROM} to='bob@example.com'/>`, BOB_AVAILABLE, undefined],
  ['8.5.2.1.2 unavailable presence → every available resource', `<presence ${FROM} to='bob@example.com' type='unavailable'/>`, BOB_AVAILABLE, undefined],
  ['8.5.2.1.2 subscribe (no roster module) → every available resource', `<presence ${FROM} to='bob@example.com' type='subscribe'/>`, BOB_AVAILABLE, undefined],
  ['8.5.2.1.2 probe is the server\'s business', `<presence ${FROM} to='bob@example.com' type='probe'/>`, [], undefined],
  ['8.5.2.1.3 iq to bare JID nobody handles', `<iq ${FROM} to='bob@example.com' type='get' id='1'><query xmlns='jabber:iq:version'/></iq>`, [], SU],
  ['8.5.2.1.3 iq result to bare JID dropped', `<iq ${FROM} to='bob@example.com' type='result' id='1'/>`, [], undefined],
  // §8.5.2.2 bare JID, no available resource
  ['8.5.2.2.1 chat, no resources, no offline storage', `<message ${FROM} to='dave@example.com' type='chat'><body>x</body></message>`, [], SU],
  ['8.5.2.2.1 chat, only negative priority', `<message ${FROM} to='carol@example.com' type='chat'><body>x</body></message>`, [], SU],
  ['8.5.2.2.1 headline, no resources, dropped', `<message ${FROM} to='dave@example.com' type='headline'/>`, [], undefined],
  ['8.5.2.2.1 headline, only negative priority, dropped', `<message ${FROM} to='carol@example.com' type='headline'/>`, [], undefined],
  ['8.5.2.2.1 groupchat, no resources', `<message ${FROM} to='dave@example.com' type='groupchat'/>`, [], SU],
  ['8.5.2.2.2 presence, no resources, dropped', `<presence ${FROM} to='dave@example.com'/>`, [], undefined],
  ['8.5.2.2.3 iq, no resources, nobody handles', `<iq ${FROM} to='dave@example.com' type='set' id='1'><query xmlns='urn:test'/></iq>`, [], SU],
  // §8.5.3.1 full JID, resource connected
  ['8.5.3.1 message to a negative-priority resource', `<message ${FROM} to='bob@example.com/hidden' type='chat'/>`, ['bob@example.com/hidden'], undefined],
  ['8.5.3.1 message to a connected, unavailable resource', `<message ${FROM} to='bob@example.com/unbound' type='chat'/>`, ['bob@example.com/unbound'], undefined],
  ['8.5.3.1 groupchat to a connected resource', `<message ${FROM} to='bob@example.com/phone' type='groupchat'/>`, ['bob@example.com/phone'], undefined],
  ['8.5.3.1 iq get to a resource', `<iq ${FROM} to='bob@example.com/phone' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, ['bob@example.com/phone'], undefined],
  ['8.5.3.1 iq result to a resource', `<iq ${FROM} to='bob@example.com/phone' type='result' id='1'/>`, ['bob@example.com/phone'], undefined],
  ['8.5.3.1 directed presence', `<presence ${FROM} to='bob@example.com/tablet'/>`, ['bob@example.com/tablet'], undefined],
  ['8.5.3.1 subscribe to a full JID is for the account', `<presence ${FROM} to='bob@example.com/tablet' type='subscribe'/>`, BOB_AVAILABLE, undefined],
  // §8.5.3.2 full JID, no such resource
  ['8.5.3.2.1 chat → as if to the bare JID', `<message ${FROM} to='bob@example.com/gone' type='chat'/>`, BOB_TOP, undefined],
  ['8.5.3.2.1 normal → as if to the bare JID', `<message ${FROM} to='bob@example.com/gone'/>`, BOB_TOP, undefined],
  ['8.5.3.2.1 headline dropped', `<message ${FROM} to='bob@example.com/gone' type='headline'/>`, [], undefined],
  ['8.5.3.2.1 groupchat → error', `<message ${FROM} to='bob@example.com/gone' type='groupchat'/>`, [], SU],
  ['8.5.3.2.1 error dropped', `<message ${FROM} to='bob@example.com/gone' type='error'/>`, [], undefined],
  ['8.5.3.2.1 chat → bare JID with no resources', `<message ${FROM} to='dave@example.com/gone' type='chat'/>`, [], SU],
  ['8.5.3.2.2 presence dropped', `<presence ${FROM} to='bob@example.com/gone'/>`, [], undefined],
  ['8.5.3.2.3 iq get → error', `<iq ${FROM} to='bob@example.com/gone' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, [], SU],
  ['8.5.3.2.3 iq result dropped', `<iq ${FROM} to='bob@example.com/gone' type='result' id='1'/>`, [], undefined],
  // The server itself
  ['server: message nobody handles', `<message ${FROM} to='example.com' type='chat'><body>x</body></message>`, [], SU],
  ['server: headline nobody handles dropped', `<message ${FROM} to='example.com' type='headline'/>`, [], undefined],
  ['server: presence nobody handles dropped', `<presence ${FROM} to='example.com'/>`, [], undefined],
  ['server: iq nobody handles', `<iq ${FROM} to='example.com' type='get' id='1'><query xmlns='urn:unknown'/></iq>`, [], SU],
  ['server: iq to domain/resource nobody handles', `<iq ${FROM} to='example.com/admin' type='get' id='1'><query xmlns='urn:unknown'/></iq>`, [], SU],
  // Other domains, no route
  ['remote: message, no route', `<message ${FROM} to='juliet@capulet.lit' type='chat'/>`, [], 'remote-server-not-found'],
  ['remote: iq, no route', `<iq ${FROM} to='capulet.lit' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`, [], 'remote-server-not-found'],
  ['remote: error, no route, dropped', `<message ${FROM} to='juliet@capulet.lit' type='error'/>`, [], undefined],
];

describe('RFC 6121 §8.5 delivery table', () => {
  test.each(CASES)('%s', (_name, stanza, delivered, error) => {
    const w = world();
    send(w, stanza);
    expect(outcome(w)).toEqual({ delivered, error });
  });
});

describe('router hooks and details', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  test('the error reply is addressed from the recipient, keeps the id, and echoes the payload', () => {
    send(w, `<message ${FROM} to='nobody@example.com' type='chat' id='m1'><body>hello</body></message>`);
    expect(normalized(w.alice.wire[0])).toBe(normalized(
      "<message from='nobody@example.com' id='m1' to='alice@example.com/r' type='error'><body>hello</body>" +
      "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    ));
  });

  test('offline_message: a handler that stores stops the chain and no error is sent', () => {
    const stored: Packet[] = [];
    w.core.hooks.add('offline_message', 'example.com', ({ packet: p, to }) => {
      expect(to.toString()).toBe('dave@example.com');
      stored.push(p.detach());
      return STOP;
    });
    send(w, `<message ${FROM} to='dave@example.com' type='chat'><body>later</body></message>`);
    expect(stored).toHaveLength(1);
    expect(outcome(w)).toEqual({ delivered: [], error: undefined });
  });

  test('user_receive_packet can withhold a delivery from one session', () => {
    w.core.hooks.add('user_receive_packet', 'example.com', ({ session }) => (session.jid.resource === 'desk' ? STOP : undefined));
    send(w, `<message ${FROM} to='bob@example.com' type='chat'/>`);
    expect(outcome(w).delivered).toEqual(['bob@example.com/phone']);
  });

  test('filter_local_packet STOP takes the packet before any rule', () => {
    w.core.hooks.add('filter_local_packet', 'example.com', () => STOP);
    send(w, `<message ${FROM} to='nobody@example.com' type='chat'/>`);
    expect(outcome(w)).toEqual({ delivered: [], error: undefined });
  });

  test('roster_in_subscription STOP keeps a subscription request from the resources', () => {
    const seen: string[] = [];
    w.core.hooks.add('roster_in_subscription', 'example.com', ({ packet: p, to }) => { seen.push(`${p.type} ${to}`); return STOP; });
    send(w, `<presence ${FROM} to='bob@example.com/phone' type='subscribed'/>`);
    expect(seen).toEqual(['subscribed bob@example.com']);
    expect(outcome(w).delivered).toEqual([]);
  });

  test('presence_probe is run with the bare JID', () => {
    const seen: string[] = [];
    w.core.hooks.add('presence_probe', 'example.com', ({ to }) => { seen.push(to.toString()); return STOP; });
    send(w, `<presence ${FROM} to='bob@example.com/phone' type='probe'/>`);
    expect(seen).toEqual(['bob@example.com']);
  });

  test('local_packet STOP handles a message to the server', () => {
    w.core.hooks.add('local_packet', 'example.com', () => STOP);
    send(w, `<message ${FROM} to='example.com'><body>x</body></message>`);
    expect(outcome(w).error).toBeUndefined();
  });

  test('an unchanged stanza from a view reaches every resource as spliced original bytes', () => {
    const { packet: p, view } = viewPacket(`<message ${FROM} to='bob@example.com' type='chat'><body>zero copy</body></message>`);
    w.core.router.route(p);
    expect(view.spliceCalls).toBe(2);
    expect(view.toElementCalls).toBe(0);
    const phone = w.sessions[1];
    expect(normalized(phone.wire[0])).toBe(normalized(`<message ${FROM} to='bob@example.com' type='chat'><body>zero copy</body></message>`));
  });

  test('domain routes win over resolvers; resolvers are asked in order; removal restores the error', () => {
    const component: Packet[] = [];
    const s2s: string[] = [];
    const removeRoute = w.core.router.addDomainRoute('muc.example.com', { route: (p) => { component.push(p); } });
    w.core.router.addRemoteResolver((d) => (d === 'capulet.lit' ? { route: (p) => { s2s.push(`first ${p.to}`); } } : undefined));
    w.core.router.addRemoteResolver(() => ({ route: (p) => { s2s.push(`fallback ${p.to}`); } }));
    send(w, `<message ${FROM} to='room@muc.example.com' type='groupchat'/>`);
    send(w, `<message ${FROM} to='juliet@capulet.lit'/>`);
    send(w, `<message ${FROM} to='x@montague.lit'/>`);
    expect(component).toHaveLength(1);
    expect(s2s).toEqual(['first juliet@capulet.lit', 'fallback x@montague.lit']);
    expect(() => w.core.router.addDomainRoute('muc.example.com', { route: () => {} })).toThrow();
    expect(() => w.core.router.addDomainRoute('example.com', { route: () => {} })).toThrow();
    removeRoute();
    expect(w.core.router.isLocal('example.com')).toBe(true);
  });

  test('checkFrom: absent → full JID, own full or bare JID accepted, anything else refused', () => {
    const alice = w.alice;
    const r = w.core.router;
    expect(r.checkFrom(alice, undefined)).toBe(alice.jid);
    expect(r.checkFrom(alice, parseJid('ALICE@example.com/r'))?.toString()).toBe('alice@example.com/r');
    expect(r.checkFrom(alice, parseJid('alice@example.com'))?.toString()).toBe('alice@example.com');
    expect(r.checkFrom(alice, parseJid('alice@example.com/other'))).toBeUndefined();
    expect(r.checkFrom(alice, parseJid('bob@example.com/phone'))).toBeUndefined();
    expect(r.checkFrom(alice, parseJid('example.com'))).toBeUndefined();
  });

  test('routeFromSession runs user_send_packet first; STOP keeps the stanza from the router', () => {
    const seen: string[] = [];
    w.core.hooks.add('user_send_packet', 'example.com', ({ session, packet: p }) => {
      seen.push(`${session.jid} ${p.to}`);
      return p.to.local === 'blocked' ? STOP : undefined;
    });
    w.core.router.routeFromSession(w.alice, packet(`<message ${FROM} to='bob@example.com' type='chat'/>`));
    w.core.router.routeFromSession(w.alice, packet(`<message ${FROM} to='blocked@example.com' type='chat'/>`));
    expect(seen).toEqual(['alice@example.com/r bob@example.com', 'alice@example.com/r blocked@example.com']);
    expect(outcome(w)).toEqual({ delivered: BOB_TOP, error: undefined });
  });

  test('a session whose send throws is logged and the others still get the stanza', () => {
    const { core, logs } = testCore();
    const broken = new FakeSession('bob@example.com/broken');
    broken.send = () => { throw new Error('socket gone'); };
    const fine = new FakeSession('bob@example.com/fine');
    core.sessions.open(broken);
    core.sessions.open(fine);
    core.router.route(packet(`<message ${FROM} to='bob@example.com' type='headline'/>`));
    expect(fine.sent).toHaveLength(1);
    expect(logs.map((l) => l.what)).toEqual(['session_send_failed']);
  });

  test('stats count routing, delivery and bounces', () => {
    send(w, `<message ${FROM} to='bob@example.com' type='chat'/>`);
    send(w, `<message ${FROM} to='nobody@example.com' type='chat'/>`);
    expect(w.core.router.stats).toEqual({ routed: 3, delivered: 3, bounced: 1, hopLimitDrops: 0 });
  });
});

describe('account existence', () => {
  test('a recipient with a bound session is routed without asking storage', () => {
    let lookups = 0;
    const { core } = testCore({ userExists: () => { lookups++; return true; } });
    const alice = new FakeSession('alice@example.com/r');
    const bob = new FakeSession('bob@example.com/phone');
    core.sessions.open(alice);
    core.sessions.open(bob);
    core.router.route(packet(`<message from='alice@example.com/r' to='bob@example.com/phone' type='chat'><body>hi</body></message>`));
    core.router.route(packet(`<message from='alice@example.com/r' to='bob@example.com' type='chat'><body>hi</body></message>`));
    expect(bob.sent.length).toBe(2);
    expect(lookups).toBe(0);
    core.router.route(packet(`<message from='alice@example.com/r' to='carol@example.com' type='chat'><body>hi</body></message>`));
    expect(lookups).toBe(1);
  });
});
