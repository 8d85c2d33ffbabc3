// mod_pubsub_push: the in-server app server. Node creation and ownership, publishes accepted
// only from the owner, observers, items, and what it does with stanzas it does not want.

import { expect, test } from 'bun:test';
import { parseJid } from '../../../server/jid.ts';
import { pushNodeService, type PublishedNotification } from '../../../modules/mod_pubsub_push/index.ts';
import { errorCondition } from './im-harness.ts';
import { chat, HOST, NS_PUSH, pushHarness, RemoteSink, type PushHarness } from './push-harness.ts';
import type { FakeSession } from '../core/fakes.ts';

const PUBSUB = 'pubsub.example.com';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';

async function createNode(h: PushHarness, s: FakeSession, node?: string): Promise<string> {
  const answer = await h.iq(s, `<iq type='set' id='c${Math.random()}' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><create${node ? ` node='${node}'` : ''}/></pubsub></iq>`);
  expect(answer.attrs.type).toBe('result');
  return node ?? answer.getChild('pubsub')!.getChild('create')!.attrs.node!;
}

const publish = (node: string, from: string, id = 'p1') =>
  `<iq type='set' id='${id}' from='${from}' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><publish node='${node}'><item><notification xmlns='${NS_PUSH}'><x xmlns='jabber:x:data'/></notification></item></publish></pubsub></iq>`;

test('a local user creates a node (named by the service when unnamed); disco#info names the service', async () => {
  const h = await pushHarness();
  const alice = h.connect('alice@example.com/a');
  const generated = await createNode(h, alice);
  expect(generated.length).toBeGreaterThanOrEqual(16);
  await createNode(h, alice, 'mine');
  const again = await h.iq(alice, `<iq type='set' id='c2' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><create node='mine'/></pubsub></iq>`);
  expect(errorCondition(again)).toBe('conflict');
  const service = pushNodeService(h.core.hooks, PUBSUB)!;
  expect(service.nodes.list().map((n) => n.owner)).toEqual(['alice@example.com', 'alice@example.com']);
  expect((await h.storage.kv.list(HOST, '', 'pubsub_push')).map((e) => e.value)).toEqual(['alice@example.com', 'alice@example.com']);
  const info = await h.iq(alice, `<iq type='get' id='i1' to='${PUBSUB}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
  expect(info.getChild('query')!.getChild('identity')!.attrs).toMatchObject({ category: 'pubsub', type: 'push' });
  expect(info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).toContain(NS_PUSH);
});

test('publish: the owner\'s account only; unknown node → item-not-found; others → forbidden; observers see accepted ones', async () => {
  const h = await pushHarness();
  const remote = new RemoteSink(h);
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  await createNode(h, alice, 'n1');
  const seen: PublishedNotification[] = [];
  pushNodeService(h.core.hooks, PUBSUB)!.onPublish((n) => seen.push(n));
  const ok = await h.iq(alice, publish('n1', 'alice@example.com/a', 'ok'));
  expect(ok.getChild('pubsub')!.getChild('publish')!.getChild('item')!.attrs.id).toBeDefined();
  expect(errorCondition(await h.iq(alice, publish('nope', 'alice@example.com/a', 'p2')))).toBe('item-not-found');
  expect(errorCondition(await h.iq(bob, publish('n1', 'bob@example.com/b', 'p3')))).toBe('forbidden');
  h.inject(publish('n1', 'mallory@remote.example', 'p4'));
  expect([remote.count, remote.errors]).toEqual([1, 1]);
  expect(seen.map((n) => [n.node, n.owner])).toEqual([['n1', 'alice@example.com']]);
  const items = await h.iq(alice, `<iq type='get' id='it' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><items node='n1'/></pubsub></iq>`);
  expect(items.getChild('pubsub')!.getChild('items')!.getChildren('item')).toHaveLength(1);
  expect(errorCondition(await h.iq(bob, `<iq type='get' id='it2' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><items node='n1'/></pubsub></iq>`))).toBe('forbidden');
});

test('remote accounts cannot create nodes; errors, results and presence sent to the service are dropped unanswered', async () => {
  const h = await pushHarness();
  const remote = new RemoteSink(h);
  h.inject(`<iq type='set' id='c' from='x@remote.example/r' to='${PUBSUB}'><pubsub xmlns='${NS_PUBSUB}'><create/></pubsub></iq>`);
  expect(remote.errors).toBe(1);
  const before = h.core.router.stats.routed;
  h.inject(`<iq type='error' id='e' from='x@remote.example/r' to='${PUBSUB}'><error type='cancel'/></iq>`);
  h.inject(`<iq type='result' id='r' from='x@remote.example/r' to='${PUBSUB}'/>`);
  h.inject(`<message type='error' from='x@remote.example/r' to='${PUBSUB}'><error type='cancel'/></message>`);
  h.inject(`<presence from='x@remote.example/r' to='${PUBSUB}'/>`);
  expect(h.core.router.stats.routed - before).toBe(4);
  h.inject(`<message from='x@remote.example/r' to='${PUBSUB}'><body>hi</body></message>`);
  expect(remote.errors).toBe(2);
});

test('end to end in process: alice enables push against her own node, goes offline, the node gets the summary', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  const node = await createNode(h, phone);
  expect((await h.iq(phone, `<iq type='set' id='e'><enable xmlns='${NS_PUSH}' jid='${PUBSUB}' node='${node}'/></iq>`)).attrs.type).toBe('result');
  const seen: PublishedNotification[] = [];
  pushNodeService(h.core.hooks, PUBSUB)!.onPublish((n) => seen.push(n));
  h.core.sessions.remove(phone);
  h.inject(chat('ping me'));
  await h.idle();
  expect(seen).toHaveLength(1);
  const form = seen[0]!.item.notification.getChild('x', 'jabber:x:data')!;
  expect(form.getChildren('field').find((f) => f.attrs.var === 'last-message-body')!.getChildText('value')).toBe('ping me');
  expect(h.state.push!.stats.results).toBe(1);
});

test('the node is deleted: the next publish gets item-not-found and the registration is disabled', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  await createNode(h, phone, 'gone-soon');
  await h.iq(phone, `<iq type='set' id='e'><enable xmlns='${NS_PUSH}' jid='${PUBSUB}' node='gone-soon'/></iq>`);
  const del = await h.iq(phone, `<iq type='set' id='d' to='${PUBSUB}'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='gone-soon'/></pubsub></iq>`);
  expect(del.attrs.type).toBe('result');
  h.core.sessions.remove(phone);
  h.inject(chat('hello?'));
  await h.idle();
  expect(await h.state.push!.registrations(parseJid('alice@example.com'))).toEqual([]);
  expect(h.state.push!.stats).toMatchObject({ published: 1, errors: 1, disabled: 1 });
});
