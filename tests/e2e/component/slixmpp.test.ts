// slixmpp's ComponentXMPP (Debian python3-slixmpp) as a real XEP-0114 component: users on
// xmpp.js discover it and talk to each other through it; once more on the hidden listener.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { trustCa } from '../../helpers/tls-trust.ts';
import { startComponentTestServer, SECRET, type ComponentTestServer } from '../../integration/component/server.ts';
import { parseJid } from '../../../server/jid.ts';

const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
const PYTHON = '/usr/bin/python3';

let srv: ComponentTestServer;
const children: ChildProcess[] = [];
let alice: Client;
let bob: Client;
const logs: string[] = [];

/** Starts the slixmpp relay and resolves once it printed READY (handshake done). */
function startRelay(domain: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(import.meta.dir, 'slix_relay.py'), domain, SECRET, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`slixmpp did not connect: ${logs.join('')}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`slixmpp exited with ${code}: ${logs.join('')}`));
    });
  });
}

function user(username: string): Client {
  const c = client({ service: `xmpp://localhost:${srv.ts.c2sPort}`, domain: 'localhost', username, password: `${username}-pw`, resource: 'slix' });
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
  await Promise.all([startRelay('slix.localhost', srv.plain), startRelay('slixhidden.localhost', srv.hidden)]);
  alice = user('alice');
  bob = user('bob');
  await alice.start();
  await bob.start();
  await alice.send(xml('presence'));
  await bob.send(xml('presence'));
}, 30_000);

afterAll(async () => {
  if (process.env.SLIX_DEBUG) console.error(logs.join(''));
  for (const c of [alice, bob]) await c?.stop().catch(() => {});
  const exits = children.map((child) => new Promise((r) => child.once('exit', r)));
  // Stopping the server closes the component streams; slixmpp then ends its loop.
  await srv.ts.stop();
  for (const child of children) setTimeout(() => child.kill(), 3000).unref();
  await Promise.all(exits);
}, 10_000);

test('alice discovers the slixmpp component with disco#info', async () => {
  const result = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'slix.localhost' }, xml('query', { xmlns: NS_DISCO_INFO })));
  const identity = result.getChild('query', NS_DISCO_INFO)!.getChild('identity')!;
  expect(identity.attrs).toMatchObject({ category: 'gateway', type: 'xmpp', name: 'Slix relay' });
});

test('alice → slixmpp component → bob, and back', async () => {
  const toBob = nextMessage(bob);
  await alice.send(xml('message', { type: 'chat', to: 'bob@slix.localhost' }, xml('body', {}, 'hi bob & co <3')));
  const msg = await toBob;
  expect(msg.attrs.from).toBe('alice@slix.localhost');
  expect(msg.getChildText('body')).toBe('alice says: hi bob & co <3');

  const toAlice = nextMessage(alice);
  await bob.send(xml('message', { type: 'chat', to: 'alice@slix.localhost' }, xml('body', {}, 'hi alice')));
  expect((await toAlice).getChildText('body')).toBe('bob says: hi alice');
});

test('the hidden slixmpp component is absent from a user\'s disco#items (users_can_see_hidden_services = false) and still answers', async () => {
  const items = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })));
  expect(items.getChild('query')!.getChildren('item').map((i) => i.attrs.jid as string)).toEqual(['slix.localhost']);
  const result = await alice.iqCaller.request(xml('iq', { type: 'get', to: 'slixhidden.localhost' }, xml('query', { xmlns: NS_DISCO_INFO })));
  expect(result.getChild('query', NS_DISCO_INFO)!.getChild('identity')!.attrs.name).toBe('Slix relay');
});
