// A real XEP-0114 component written with @xmpp/component, under Bun, against a started
// server: users (xmpp.js clients over STARTTLS) discover it, and it relays their messages
// to each other. A second one on a hidden_components listener is left out of users'
// disco#items yet still answers.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { client, type Client, type XmlElement } from '@xmpp/client';
import { component, xml, type Component } from '@xmpp/component';
import { trustCa } from '../../helpers/tls-trust.ts';
import { parseJid } from '../../../server/jid.ts';
import { startComponentTestServer, SECRET, type ComponentTestServer } from '../../integration/component/server.ts';

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

let srv: ComponentTestServer;
let relay: Component;
let hidden: Component;
let alice: Client;
let bob: Client;

/** A component that describes itself and relays "to user@relay" messages to user@localhost. */
function relayComponent(port: number, domain: string, name: string): Component {
  const c = component({ service: `xmpp://127.0.0.1:${port}`, domain, password: SECRET });
  c.reconnect.stop();
  c.iqCallee.get(NS_DISCO_INFO, 'query', () =>
    xml('query', { xmlns: NS_DISCO_INFO }, xml('identity', { category: 'gateway', type: 'xmpp', name }), xml('feature', { var: NS_DISCO_INFO })));
  c.on('stanza', (s) => {
    if (!s.is('message') || s.attrs.type === 'error') return;
    const to = parseJid(s.attrs.to);
    const sender = parseJid(s.attrs.from);
    if (to.local === '') return;
    c.send(xml('message', { type: 'chat', from: `${sender.local}@${domain}`, to: `${to.local}@localhost` }, xml('body', {}, `${sender.local} says: ${s.getChildText('body') ?? ''}`)));
  });
  return c;
}

function user(username: string): Client {
  const c = client({ service: `xmpp://localhost:${srv.ts.c2sPort}`, domain: 'localhost', username, password: `${username}-pw`, resource: 'e2e' });
  c.reconnect.stop();
  return c;
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

beforeAll(async () => {
  srv = await startComponentTestServer({ 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' });
  trustCa(srv.ts.ca);
  relay = relayComponent(srv.plain, 'relay.localhost', 'Relay');
  hidden = relayComponent(srv.hidden, 'hidden.localhost', 'Hidden relay');
  await relay.start();
  await hidden.start();
  alice = user('alice');
  bob = user('bob');
  await alice.start();
  await bob.start();
  await alice.send(xml('presence'));
  await bob.send(xml('presence'));
});

afterAll(async () => {
  for (const c of [alice, bob, relay, hidden]) await c?.stop().catch(() => {});
  await srv.ts.stop();
});

test('the component is connected and listed for the admin', () => {
  const names = srv.ts.server.components.listComponents().map((r) => r.name).sort();
  expect(names).toEqual(['hidden.localhost', 'relay.localhost']);
});

test('alice discovers the component with disco#info', async () => {
  const result = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'relay.localhost' }, xml('query', { xmlns: NS_DISCO_INFO })));
  const identity = result.getChild('query', NS_DISCO_INFO)!.getChild('identity')!;
  expect(identity.attrs).toMatchObject({ category: 'gateway', type: 'xmpp', name: 'Relay' });
  expect(result.attrs.from).toBe('relay.localhost');
});

test('alice → component → bob', async () => {
  const received = nextMessage(bob);
  await alice.send(xml('message', { type: 'chat', to: 'bob@relay.localhost' }, xml('body', {}, 'hello through the relay')));
  const msg = await received;
  expect(msg.attrs.from).toBe('alice@relay.localhost');
  expect(msg.getChildText('body')).toBe('alice says: hello through the relay');
});

test('bob answers back the same way', async () => {
  const received = nextMessage(alice);
  await bob.send(xml('message', { type: 'chat', to: 'alice@relay.localhost' }, xml('body', {}, 'got it')));
  expect((await received).getChildText('body')).toBe('bob says: got it');
});

test('the hidden component is not in a user\'s disco#items when users may not see hidden services, but answers', async () => {
  const items = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  const jids = items.getChild('query')!.getChildren('item').map((i) => i.attrs.jid as string);
  expect(jids).toContain('relay.localhost');
  expect(jids).not.toContain('hidden.localhost');
  const result = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'hidden.localhost' }, xml('query', { xmlns: NS_DISCO_INFO })));
  expect(result.getChild('query', NS_DISCO_INFO)!.getChild('identity')!.attrs.name).toBe('Hidden relay');
});
