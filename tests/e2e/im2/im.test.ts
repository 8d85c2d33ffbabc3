// The small IM modules against a really started server with xmpp.js (@xmpp/client) and raw
// sockets: carbons reach a second resource, blocking stops delivery, vCard and private storage
// round trips, pings both ways (a client that never answers is closed), and in-band
// registration when mod_register is enabled (and refused when it is not).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { client, xml, type Authenticate, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';

const MODULES_TOML = `
[modules.mod_ping]
ping_interval = "400ms"
ping_req_timeout = "600ms"
[modules.mod_vcard]
[modules.mod_private]
[modules.mod_carboncopy]
[modules.mod_blocking]
[modules.mod_csi]
[modules.mod_version]
[modules.mod_last]
`;

let ts: TestServer;
let open: TestServer;
const started: Client[] = [];

beforeAll(async () => {
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-secret', 'bob@localhost': 'bob-secret' },
    toml: MODULES_TOML,
  });
  open = await startTestServer({
    toml: `${MODULES_TOML}\n[modules.mod_register]\nscram_iterations = 4096\nmin_password_length = 6\n`,
  });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await ts.stop();
  await open.stop();
});

async function connect(server: TestServer, user: string, password: string, resource?: string): Promise<Client> {
  const xmpp = client({
    service: `xmpps://127.0.0.1:${server.tlsPort}`,
    domain: 'localhost',
    resource,
    credentials: async (authenticate: Authenticate, mechanisms: string[]) => {
      await authenticate({ username: user, password }, mechanisms.includes('SCRAM-SHA-1') ? 'SCRAM-SHA-1' : mechanisms[0]!);
    },
  });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  started.push(xmpp);
  await xmpp.start();
  return xmpp;
}

/** The next stanza a client receives that matches. */
function next(xmpp: Client, match: (el: XmlElement) => boolean, timeoutMs = 3000): Promise<XmlElement> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      xmpp.removeListener('stanza', onStanza);
      reject(new Error('no matching stanza arrived'));
    }, timeoutMs);
    const onStanza = (el: XmlElement) => {
      if (!match(el)) return;
      clearTimeout(timer);
      xmpp.removeListener('stanza', onStanza);
      resolve(el);
    };
    xmpp.on('stanza', onStanza);
  });
}

const iq = (xmpp: Client, type: 'get' | 'set', payload: XmlElement, to?: string) =>
  xmpp.iqCaller.request(xml('iq', { type, to }, payload));

describe('carbons (XEP-0280)', () => {
  test('alice\'s desktop sees what her phone sends and receives', async () => {
    const phone = await connect(ts, 'alice', 'alice-secret', 'phone');
    const desktop = await connect(ts, 'alice', 'alice-secret', 'desktop');
    const bob = await connect(ts, 'bob', 'bob-secret', 'pc');
    for (const c of [phone, desktop]) await iq(c, 'set', xml('enable', { xmlns: 'urn:xmpp:carbons:2' }));

    const receivedCarbon = next(desktop, (el) => el.is('message') && el.getChild('received', 'urn:xmpp:carbons:2') !== undefined);
    const atPhone = next(phone, (el) => el.is('message') && el.getChildText('body') === 'hi alice');
    await bob.send(xml('message', { type: 'chat', to: 'alice@localhost/phone' }, xml('body', {}, 'hi alice')));
    await atPhone;
    const rc = await receivedCarbon;
    expect(rc.attrs.from).toBe('alice@localhost');
    expect(rc.getChild('received')!.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!.getChildText('body')).toBe('hi alice');

    const sentCarbon = next(desktop, (el) => el.is('message') && el.getChild('sent', 'urn:xmpp:carbons:2') !== undefined);
    const atBob = next(bob, (el) => el.is('message') && el.getChildText('body') === 'hi bob');
    await phone.send(xml('message', { type: 'chat', to: 'bob@localhost/pc' }, xml('body', {}, 'hi bob')));
    await atBob;
    const sc = await sentCarbon;
    const inner = sc.getChild('sent')!.getChild('forwarded')!.getChild('message')!;
    expect(inner.attrs.to).toBe('bob@localhost/pc');
    expect(inner.getChildText('body')).toBe('hi bob');
    for (const c of [phone, desktop, bob]) await c.stop();
  });
});

describe('blocking (XEP-0191)', () => {
  test('a blocked contact\'s message is refused and not delivered; unblocking restores delivery', async () => {
    const alice = await connect(ts, 'alice', 'alice-secret', 'blocker');
    const bob = await connect(ts, 'bob', 'bob-secret', 'pest');
    await iq(alice, 'set', xml('block', { xmlns: 'urn:xmpp:blocking' }, xml('item', { jid: 'bob@localhost' })));
    const list = await iq(alice, 'get', xml('blocklist', { xmlns: 'urn:xmpp:blocking' }));
    expect(list.getChild('blocklist')!.getChild('item')!.attrs.jid).toBe('bob@localhost');

    const delivered: string[] = [];
    alice.on('stanza', (el) => { if (el.is('message') && el.attrs.type !== 'error') delivered.push(el.getChildText('body') ?? ''); });
    const bounce = next(bob, (el) => el.is('message') && el.attrs.type === 'error');
    await bob.send(xml('message', { type: 'chat', to: 'alice@localhost/blocker', id: 'm1' }, xml('body', {}, 'let me in')));
    const error = await bounce;
    expect(error.getChild('error')!.getChild('service-unavailable', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();

    const refusal = next(alice, (el) => el.is('message') && el.attrs.type === 'error');
    await alice.send(xml('message', { type: 'chat', to: 'bob@localhost/pest' }, xml('body', {}, 'go away')));
    const refused = await refusal;
    expect(refused.getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors')).toBeDefined();

    await iq(alice, 'set', xml('unblock', { xmlns: 'urn:xmpp:blocking' }));
    const welcome = next(alice, (el) => el.is('message') && el.getChildText('body') === 'friends again?');
    await bob.send(xml('message', { type: 'chat', to: 'alice@localhost/blocker' }, xml('body', {}, 'friends again?')));
    await welcome;
    expect(delivered).toEqual(['friends again?']);
    await alice.stop();
    await bob.stop();
  });
});

describe('vCard (XEP-0054) and private storage (XEP-0049)', () => {
  test('alice sets her vCard, bob reads it', async () => {
    const alice = await connect(ts, 'alice', 'alice-secret', 'card');
    const bob = await connect(ts, 'bob', 'bob-secret', 'reader');
    await iq(alice, 'set', xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, 'Alice Liddell'), xml('NICKNAME', {}, 'al')));
    const own = await iq(alice, 'get', xml('vCard', { xmlns: 'vcard-temp' }));
    expect(own.getChild('vCard')!.getChildText('FN')).toBe('Alice Liddell');
    const seen = await iq(bob, 'get', xml('vCard', { xmlns: 'vcard-temp' }), 'alice@localhost');
    expect(seen.getChild('vCard', 'vcard-temp')!.getChildText('NICKNAME')).toBe('al');
    await alice.stop();
    await bob.stop();
  });

  test('private storage round trip survives a new session', async () => {
    const first = await connect(ts, 'alice', 'alice-secret', 'one');
    await iq(first, 'set', xml('query', { xmlns: 'jabber:iq:private' }, xml('prefs', { xmlns: 'urn:example:prefs' }, xml('theme', {}, 'dark'))));
    await first.stop();
    const second = await connect(ts, 'alice', 'alice-secret', 'two');
    const got = await iq(second, 'get', xml('query', { xmlns: 'jabber:iq:private' }, xml('prefs', { xmlns: 'urn:example:prefs' })));
    expect(got.getChild('query')!.getChild('prefs', 'urn:example:prefs')!.getChildText('theme')).toBe('dark');
    await second.stop();
  });
});

/** A raw client over direct TLS, logged in with PLAIN and bound; it answers nothing. */
async function rawLogin(server: TestServer, user: string, password: string): Promise<RawClient> {
  const raw = await RawClient.connect(server.tlsPort, { tls: { ca: server.ca } });
  raw.send(STREAM_OPEN());
  await raw.waitFor('</stream:features>');
  raw.clear();
  raw.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
  await raw.waitFor('<success');
  raw.clear();
  raw.send(STREAM_OPEN());
  await raw.waitFor('</stream:features>');
  raw.send(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>`);
  await raw.waitFor('</bind>');
  raw.clear();
  return raw;
}

describe('ping (XEP-0199) both ways', () => {
  test('a client pings the server; the server pings clients and closes one that never answers', async () => {
    const xmpp = await connect(ts, 'bob', 'bob-secret', 'pinger');
    const pong = await xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(pong.attrs.type).toBe('result');

    const raw = await rawLogin(ts, 'alice', 'alice-secret');
    await raw.waitFor("urn:xmpp:ping");
    const closing = await raw.waitForClose(5000);
    expect(closing).toContain('connection-timeout');
    // xmpp.js answers the server's pings and is still connected after several rounds.
    await new Promise((r) => setTimeout(r, 1200));
    const again = await xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
    expect(again.attrs.type).toBe('result');
    await xmpp.stop();
  });
});

describe('in-band registration (XEP-0077)', () => {
  test('enabled: the feature is offered, an account is created, and it can log in', async () => {
    const raw = await RawClient.connect(open.tlsPort, { tls: { ca: open.ca } });
    raw.send(STREAM_OPEN());
    const features = await raw.waitFor('</stream:features>');
    expect(features).toContain("http://jabber.org/features/iq-register");
    raw.clear();
    raw.send("<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>");
    expect(await raw.waitFor('</iq>')).toContain('<password/>');
    raw.clear();
    raw.send("<iq type='set' id='r2'><query xmlns='jabber:iq:register'><username>newbie</username><password>fresh-pass</password></query></iq>");
    expect(await raw.waitFor(/<iq[^>]*id='r2'[^>]*\/?>/)).toContain("type='result'");
    raw.close();
    const newbie = await connect(open, 'newbie', 'fresh-pass', 'first');
    expect(newbie.jid?.toString()).toBe('newbie@localhost/first');
    await newbie.stop();
  });

  test('not enabled: no feature, and a registration IQ before login is answered service-unavailable', async () => {
    const raw = await RawClient.connect(ts.tlsPort, { tls: { ca: ts.ca } });
    raw.send(STREAM_OPEN());
    const features = await raw.waitFor('</stream:features>');
    expect(features).not.toContain('iq-register');
    raw.send("<iq type='set' id='r3'><query xmlns='jabber:iq:register'><username>sneaky</username><password>sneaky-pass</password></query></iq>");
    expect(await raw.waitFor(/<iq[^>]*id='r3'[^]*<\/iq>/)).toContain('service-unavailable');
    expect(await ts.server.storage.users.get('localhost', 'sneaky')).toBeUndefined();
    // Any other IQ before login is still refused by closing the stream.
    raw.send("<iq type='get' id='r4'><query xmlns='jabber:iq:version'/></iq>");
    expect(await raw.waitForClose()).toContain('not-authorized');
  });
});
