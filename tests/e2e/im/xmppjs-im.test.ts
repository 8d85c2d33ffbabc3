// Conversations with xmpp.js against a really started server running the default modules:
// the subscription handshake both ways with roster pushes, presence broadcast and the
// unavailable presence at disconnect, offline messages delivered once with <delay/>, and
// disco#info on the server.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { DEFAULT_MODULES } from '../../../server/config/meerkat-schema.ts';
import { trustCa } from '../../helpers/tls-trust.ts';

let ts: TestServer;
const started: Client[] = [];

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin'];

beforeAll(async () => {
  // The default modules without stream management: these conversations are about roster,
  // presence and offline storage, and xmpp.js closes without acknowledging what it got, so
  // with stream management on a message it saw would be stored again (tests/e2e/sm covers that).
  const modules = Object.keys(DEFAULT_MODULES).filter((m) => m !== 'mod_stream_management').map((m) => `[modules.${m}]`).join('\n');
  ts = await startTestServer({ toml: modules, users: Object.fromEntries(USERS.map((u) => [`${u}@localhost`, `${u}-secret`])) });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await ts.stop();
});

interface Person {
  xmpp: Client;
  jid: string;
  /** Resolves with the first stanza matching, counting only stanzas that arrive from now on. */
  next(match: (s: XmlElement) => boolean): Promise<XmlElement>;
  /** Every stanza received so far. */
  seen: XmlElement[];
}

async function login(user: string, resource = 'e2e'): Promise<Person> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource, username: user, password: `${user}-secret` });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  started.push(xmpp);
  const seen: XmlElement[] = [];
  const waiters: Array<{ match: (s: XmlElement) => boolean; resolve: (s: XmlElement) => void }> = [];
  xmpp.on('stanza', (s: XmlElement) => {
    seen.push(s);
    for (const w of [...waiters]) {
      if (!w.match(s)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(s);
    }
  });
  await xmpp.start();
  return {
    xmpp,
    jid: `${user}@localhost/${resource}`,
    seen,
    next: (match) => new Promise((resolve) => waiters.push({ match, resolve })),
  };
}

/** Fetches the roster (making the resource "interested") and sends initial presence, as clients do. */
async function goOnline(p: Person): Promise<XmlElement[]> {
  const result = await p.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  await p.xmpp.send(xml('presence'));
  return childrenNamed(result.getChild('query'), 'item');
}

function ping(p: Person): Promise<XmlElement> {
  return p.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

/** Child elements of one name (the local typings of xmpp.js list only getChild). */
function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return (el?.children ?? []).filter((c): c is XmlElement => typeof c !== 'string' && c.is(name));
}

const isPush = (jid: string, subscription: string) => (s: XmlElement) =>
  s.is('iq') && s.attrs.type === 'set' && s.getChild('query')?.getChild('item')?.attrs.jid === jid && s.getChild('query')?.getChild('item')?.attrs.subscription === subscription;
const isPresence = (from: string, type?: string) => (s: XmlElement) => s.is('presence') && s.attrs.from === from && s.attrs.type === type;

test('alice and bob subscribe to each other; rosters are pushed and presence flows both ways', async () => {
  const alice = await login('alice');
  const bob = await login('bob');
  await goOnline(alice);
  await goOnline(bob);

  // alice asks; her roster shows the pending request; bob sees the request from her bare JID.
  const alicePending = alice.next((s) => isPush('bob@localhost', 'none')(s) && s.getChild('query')!.getChild('item')!.attrs.ask === 'subscribe');
  const bobRequest = bob.next(isPresence('alice@localhost', 'subscribe'));
  await alice.xmpp.send(xml('presence', { to: 'bob@localhost', type: 'subscribe' }));
  await alicePending;
  await bobRequest;

  // bob approves and asks back in one go.
  const aliceTo = alice.next(isPush('bob@localhost', 'to'));
  const aliceSeesBob = alice.next(isPresence('bob@localhost/e2e'));
  const aliceRequest = alice.next(isPresence('bob@localhost', 'subscribe'));
  await bob.xmpp.send(xml('presence', { to: 'alice@localhost', type: 'subscribed' }));
  await bob.xmpp.send(xml('presence', { to: 'alice@localhost', type: 'subscribe' }));
  await aliceTo;
  await aliceSeesBob;
  await aliceRequest;

  const bobBoth = bob.next(isPush('alice@localhost', 'both'));
  const bobSeesAlice = bob.next(isPresence('alice@localhost/e2e'));
  await alice.xmpp.send(xml('presence', { to: 'bob@localhost', type: 'subscribed' }));
  await bobBoth;
  await bobSeesAlice;

  const roster = await alice.xmpp.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
  expect(childrenNamed(roster.getChild('query'), 'item').map((i) => i.attrs.subscription)).toEqual(['both']);

  // Presence changes are broadcast; a disconnect ends with unavailable.
  const away = alice.next((s) => isPresence('bob@localhost/e2e')(s) && s.getChildText('show') === 'away');
  await bob.xmpp.send(xml('presence', {}, xml('show', {}, 'away')));
  expect((await away).getChildText('show')).toBe('away');
  const gone = alice.next(isPresence('bob@localhost/e2e', 'unavailable'));
  await bob.xmpp.stop();
  await gone;

  // bob logs in again: the probe at his initial presence returns alice's presence.
  const bob2 = await login('bob', 'second');
  const probeAnswer = bob2.next(isPresence('alice@localhost/e2e'));
  await goOnline(bob2);
  await probeAnswer;
});

test('a message to an offline user is delivered once, with <delay/>, at the next login', async () => {
  const carol = await login('carol');
  await goOnline(carol);
  await carol.xmpp.send(xml('message', { to: 'dave@localhost', type: 'chat', id: 'off1' }, xml('body', {}, 'see you later')));
  // A ping round trip: the message has been handled by the time the answer comes.
  await ping(carol);

  const dave = await login('dave');
  const delivered = dave.next((s) => s.is('message') && s.getChildText('body') === 'see you later');
  await goOnline(dave);
  const msg = await delivered;
  expect(msg.attrs.from).toBe('carol@localhost/e2e');
  const delay = msg.getChild('delay', 'urn:xmpp:delay');
  expect(delay?.attrs.from).toBe('localhost');
  expect(Number.isNaN(Date.parse(delay!.attrs.stamp))).toBe(false);
  await dave.xmpp.stop();

  // Logging in again brings nothing: delivered once.
  const dave2 = await login('dave', 'again');
  await goOnline(dave2);
  // Two round trips: the first answer may overtake work the presence queued; the second cannot.
  await ping(dave2);
  await ping(dave2);
  expect(dave2.seen.filter((s: XmlElement) => s.is('message'))).toEqual([]);
});

test('disco#info on the server lists the IM modules that run', async () => {
  const erin = await login('erin');
  const info = await erin.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
  const q = info.getChild('query')!;
  expect(q.getChild('identity')!.attrs).toMatchObject({ category: 'server', type: 'im' });
  const features = childrenNamed(q, 'feature').map((f) => f.attrs.var);
  for (const f of ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'jabber:iq:roster', 'msgoffline', 'urn:xmpp:ping']) {
    expect(features).toContain(f);
  }
});
