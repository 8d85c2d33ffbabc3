// Push end to end with real clients: alice (xmpp.js) enables push against an app server that
// is a real XEP-0114 component (@xmpp/component) and against the in-server push node, goes
// offline; bob's message reaches both as a urn:xmpp:push:summary publish. She disables one;
// then the app server starts answering with errors, and the server disables that registration.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { client, xml as cxml, type Client, type XmlElement } from '@xmpp/client';
import { component, xml, type Component } from '@xmpp/component';
import { trustCa } from '../../helpers/tls-trust.ts';
import { freePort } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { parseJid } from '../../../server/jid.ts';
import { eventPusherState } from '../../../modules/mod_event_pusher/index.ts';
import { pushNodeService, type PublishedNotification } from '../../../modules/mod_pubsub_push/index.ts';

const SECRET = 'app-secret';
const PUSH_TEST_MODULES = ['mod_ping', 'mod_disco', 'mod_roster', 'mod_offline', 'mod_csi', 'mod_carboncopy'];
const APP = 'app.localhost';
const PUBSUB = 'pubsub.localhost';
const NS_PUSH = 'urn:xmpp:push:0';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';

let ts: TestServer;
let app: Component;
let bob: Client;
/** How the app server answers publishes. */
let appAnswer: 'result' | 'error' = 'result';
const appPublishes: XmlElement[] = [];
const appWaiters: Array<(el: XmlElement) => void> = [];

async function start(): Promise<TestServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      const port = await freePort();
      // A fixed module set: with stream management, a message xmpp.js received but did not
      // acknowledge before logging out is rerouted (and pushed) again, which these counts do not expect.
      const modules = PUSH_TEST_MODULES.map((n) => `[modules.${n}]`).join('\n');
      const server = await startTestServer({
        users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' },
        toml: `${modules}
[modules.mod_event_pusher.push]
[modules.mod_pubsub_push]
[[listen.component]]
port = ${port}
ip_address = "127.0.0.1"
password = "${SECRET}"`,
      });
      (server as TestServer & { componentPort?: number }).componentPort = port;
      return server;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

function user(username: string): Client {
  const c = client({ service: `xmpp://localhost:${ts.c2sPort}`, domain: 'localhost', username, password: `${username}-pw`, resource: 'phone' });
  c.reconnect.stop();
  return c;
}

function nextAppPublish(): Promise<XmlElement> {
  return new Promise((resolve) => appWaiters.push(resolve));
}

function nextNodePublish(): Promise<PublishedNotification> {
  return new Promise((resolve) => {
    const off = pushNodeService(ts.server.core.hooks, PUBSUB)!.onPublish((n) => {
      off();
      resolve(n);
    });
  });
}

function summary(notification: { getChild(name: string, ns?: string): XmlElement | undefined } | XmlElement): Record<string, string> {
  const form = (notification as XmlElement).getChild('x', 'jabber:x:data')!;
  const out: Record<string, string> = {};
  for (const f of form.getChildren('field')) out[f.attrs.var as string] = f.getChildText('value') ?? '';
  return out;
}

function nextMessage(c: Client): Promise<XmlElement> {
  return new Promise((resolve) => {
    const on = (s: XmlElement) => {
      if (s.is('message') && s.getChild('body')) {
        c.removeListener('stanza', on);
        resolve(s);
      }
    };
    c.on('stanza', on);
  });
}

/** alice logs in, runs `during`, and logs out (her stream closes: she is offline). */
async function asAlice(during: (alice: Client) => Promise<void>, expectStored = false): Promise<void> {
  const alice = user('alice');
  const stored = expectStored ? nextMessage(alice) : undefined;
  await alice.start();
  await alice.send(cxml('presence'));
  // What waited in offline storage arrives first: otherwise a quick logout sends it back the offline way.
  if (stored !== undefined) await stored;
  try {
    await during(alice);
  } finally {
    await alice.stop();
  }
  // The server has removed the session once her stream is gone.
  for (let i = 0; i < 100 && ts.server.core.sessions.resources(parseJid('alice@localhost')).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
}

const set = (alice: Client, child: XmlElement, to?: string) => alice.iqCaller.request(cxml('iq', { type: 'set', to }, child));

beforeAll(async () => {
  ts = await start();
  trustCa(ts.ca);
  const port = (ts as TestServer & { componentPort?: number }).componentPort!;
  app = component({ service: `xmpp://127.0.0.1:${port}`, domain: APP, password: SECRET });
  app.reconnect.stop();
  app.on('stanza', (s) => {
    if (!s.is('iq') || s.attrs.type !== 'set' || s.getChild('pubsub', NS_PUBSUB) === undefined) return;
    appPublishes.push(s);
    for (const w of appWaiters.splice(0)) w(s);
    const reply = appAnswer === 'result'
      ? xml('iq', { type: 'result', id: s.attrs.id, to: s.attrs.from, from: APP })
      : xml('iq', { type: 'error', id: s.attrs.id, to: s.attrs.from, from: APP }, xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' })));
    void app.send(reply);
  });
  await app.start();
  bob = user('bob');
  await bob.start();
  await bob.send(cxml('presence'));
}, 30_000);

afterAll(async () => {
  for (const c of [bob, app]) await c?.stop().catch(() => {});
  await ts?.stop();
});

let nodeName = '';

test('alice sees push in her account\'s disco#info, creates a node on the in-server service, enables both', async () => {
  await asAlice(async (alice) => {
    const info = await alice.iqCaller.request(cxml('iq', { type: 'get', to: 'alice@localhost' }, cxml('query', { xmlns: 'http://jabber.org/protocol/disco#info' })));
    expect(info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).toContain(NS_PUSH);
    const created = await set(alice, cxml('pubsub', { xmlns: NS_PUBSUB }, cxml('create')), PUBSUB);
    nodeName = created.getChild('pubsub')!.getChild('create')!.attrs.node as string;
    expect(nodeName.length).toBeGreaterThan(0);
    const form = cxml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      cxml('field', { var: 'FORM_TYPE' }, cxml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
      cxml('field', { var: 'secret' }, cxml('value', {}, 'device-secret')));
    await set(alice, cxml('enable', { xmlns: NS_PUSH, jid: APP, node: 'device-1' }, form));
    await set(alice, cxml('enable', { xmlns: NS_PUSH, jid: PUBSUB, node: nodeName }));
    const bad = await set(alice, cxml('enable', { xmlns: NS_PUSH, jid: APP })).catch((e: { condition?: string }) => e);
    expect((bad as { condition?: string }).condition).toBe('bad-request');
  });
  expect(await eventPusherState(ts.server.core.hooks, 'localhost')!.push!.registrations(parseJid('alice@localhost'))).toHaveLength(2);
});

test('alice is offline: bob\'s message reaches the component app server and the in-server node as a summary', async () => {
  const atApp = nextAppPublish();
  const atNode = nextNodePublish();
  await bob.send(cxml('message', { to: 'alice@localhost', type: 'chat' }, cxml('body', {}, 'are you there?')));
  const published = await atApp;
  expect(published.attrs.from).toBe('alice@localhost');
  const pubsub = published.getChild('pubsub', NS_PUBSUB)!;
  expect(pubsub.getChild('publish')!.attrs.node).toBe('device-1');
  expect(summary(pubsub.getChild('publish')!.getChild('item')!.getChild('notification', NS_PUSH)!)).toEqual({
    FORM_TYPE: 'urn:xmpp:push:summary',
    'message-count': '1',
    'last-message-sender': 'bob@localhost',
    'last-message-body': 'are you there?',
  });
  const options = pubsub.getChild('publish-options')!.getChild('x', 'jabber:x:data')!;
  expect(options.getChildren('field').find((f) => f.attrs.var === 'secret')!.getChildText('value')).toBe('device-secret');
  const n = await atNode;
  expect(n.node).toBe(nodeName);
  expect(n.owner).toBe('alice@localhost');
});

test('alice comes back (gets the message from offline storage), disables the app server; the next message reaches only her node', async () => {
  await asAlice(async (alice) => {
    await set(alice, cxml('disable', { xmlns: NS_PUSH, jid: APP, node: 'device-1' }));
  }, true);
  const before = appPublishes.length;
  const atNode = nextNodePublish();
  await bob.send(cxml('message', { to: 'alice@localhost', type: 'chat' }, cxml('body', {}, 'second')));
  const n = await atNode;
  const form = n.item.notification.getChild('x', 'jabber:x:data')!;
  expect(form.getChildren('field').find((f) => f.attrs.var === 'message-count')!.getChildText('value')).toBe('1');
  await eventPusherState(ts.server.core.hooks, 'localhost')!.idle();
  expect(appPublishes.length).toBe(before);
});

test('the app server answers with an error: the server disables that registration', async () => {
  await asAlice(async (alice) => {
    await set(alice, cxml('enable', { xmlns: NS_PUSH, jid: APP, node: 'device-2' }));
  }, true);
  appAnswer = 'error';
  const atApp = nextAppPublish();
  await bob.send(cxml('message', { to: 'alice@localhost', type: 'chat' }, cxml('body', {}, 'third')));
  await atApp;
  const state = eventPusherState(ts.server.core.hooks, 'localhost')!;
  let regs = await state.push!.registrations(parseJid('alice@localhost'));
  for (let i = 0; i < 100 && regs.some((r) => r.service === APP); i++) {
    await new Promise((r) => setTimeout(r, 10));
    regs = await state.push!.registrations(parseJid('alice@localhost'));
  }
  expect(regs.map((r) => r.service)).toEqual([PUBSUB]);
  expect(state.push!.stats.disabled).toBe(1);
});
