// Real clients against a really started server: xmpp.js (@xmpp/client) logging in over
// STARTTLS with SCRAM-SHA-1 and PLAIN, over direct TLS, binding, exchanging messages and
// pinging the server; a wrong password is refused.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { client, xml, type Authenticate, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';

let ts: TestServer;
const started: Client[] = [];

beforeAll(async () => {
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-secret', 'bob@localhost': 'bob-secret' },
  });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await ts.stop();
});

type Mechanism = 'SCRAM-SHA-1' | 'PLAIN';

interface Connected {
  xmpp: Client;
  /** What the server offered and what the client used. */
  offered: string[];
  used: string;
}

/** A client that picks `mechanism` (or its own first choice) and records what it saw. */
function makeClient(user: string, password: string, options: { service?: string; mechanism?: Mechanism; resource?: string } = {}) {
  const seen = { offered: [] as string[], used: '' };
  const xmpp = client({
    service: options.service ?? `xmpp://127.0.0.1:${ts.c2sPort}`,
    domain: 'localhost',
    resource: options.resource,
    credentials: async (authenticate: Authenticate, mechanisms: string[]) => {
      seen.offered = mechanisms;
      seen.used = options.mechanism ?? mechanisms[0]!;
      await authenticate({ username: user, password }, seen.used);
    },
  });
  // A test decides when to reconnect: never.
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  started.push(xmpp);
  return { xmpp, seen };
}

async function connect(user: string, password: string, options: Parameters<typeof makeClient>[2] = {}): Promise<Connected> {
  const { xmpp, seen } = makeClient(user, password, options);
  await xmpp.start();
  return { xmpp, offered: seen.offered, used: seen.used };
}

function nextMessage(xmpp: Client): Promise<XmlElement> {
  return new Promise((resolve) => {
    const onStanza = (stanza: XmlElement) => {
      if (!stanza.is('message')) return;
      xmpp.removeListener('stanza', onStanza);
      resolve(stanza);
    };
    xmpp.on('stanza', onStanza);
  });
}

async function ping(xmpp: Client): Promise<XmlElement> {
  return xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
}

describe('xmpp.js', () => {
  test('STARTTLS and SCRAM-SHA-1, its first choice; bound to the requested resource', async () => {
    const { xmpp, used, offered } = await connect('alice', 'alice-secret', { resource: 'laptop' });
    expect(used).toBe('SCRAM-SHA-1');
    expect(offered).toContain('PLAIN');
    expect(xmpp.isSecure()).toBe(true);
    expect(xmpp.jid?.toString()).toBe('alice@localhost/laptop');
    await xmpp.stop();
  });

  test('PLAIN when chosen', async () => {
    const { xmpp, used } = await connect('bob', 'bob-secret', { mechanism: 'PLAIN' });
    expect(used).toBe('PLAIN');
    expect(xmpp.jid?.toString()).toMatch(/^bob@localhost\/.+/);
    await xmpp.stop();
  });

  test('direct TLS (xmpps://) on the TLS port', async () => {
    const { xmpp } = await connect('alice', 'alice-secret', { service: `xmpps://127.0.0.1:${ts.tlsPort}` });
    expect(xmpp.isSecure()).toBe(true);
    expect(xmpp.jid?.bare().toString()).toBe('alice@localhost');
    const pong = await ping(xmpp);
    expect(pong.attrs.type).toBe('result');
    await xmpp.stop();
  });

  test('the server answers a ping (XEP-0199)', async () => {
    const { xmpp } = await connect('bob', 'bob-secret');
    const pong = await ping(xmpp);
    expect(pong.attrs.type).toBe('result');
    expect(pong.attrs.from).toBe('localhost');
    await xmpp.stop();
  });

  test('alice and bob exchange messages both ways, to full and bare JIDs', async () => {
    const alice = await connect('alice', 'alice-secret', { resource: 'chat' });
    const bob = await connect('bob', 'bob-secret', { resource: 'chat' });
    // A message to a bare JID needs an available resource (RFC 6121 §8.5.2.1.1).
    await alice.xmpp.send(xml('presence'));
    await bob.xmpp.send(xml('presence'));

    const atBob = nextMessage(bob.xmpp);
    await alice.xmpp.send(xml('message', { to: 'bob@localhost/chat', type: 'chat', id: 'a1' }, xml('body', {}, 'hi bob, it is alice')));
    const m1 = await atBob;
    expect(m1.attrs.from).toBe('alice@localhost/chat');
    expect(m1.getChildText('body')).toBe('hi bob, it is alice');

    const atAlice = nextMessage(alice.xmpp);
    await bob.xmpp.send(xml('message', { to: 'alice@localhost', type: 'chat', id: 'b1' }, xml('body', {}, 'hello alice <3 & 😀')));
    const m2 = await atAlice;
    expect(m2.attrs.from).toBe('bob@localhost/chat');
    expect(m2.getChildText('body')).toBe('hello alice <3 & 😀');

    await alice.xmpp.stop();
    await bob.xmpp.stop();
  });

  test('a wrong password is refused with not-authorized', async () => {
    const { xmpp } = makeClient('alice', 'not-her-password');
    const error = await xmpp.start().then(() => undefined, (e: Error & { condition?: string }) => e);
    expect(error).toBeDefined();
    expect(error!.condition).toBe('not-authorized');
    expect(xmpp.jid?.resource).toBeFalsy();
    await xmpp.stop().catch(() => {});
  });
});
