// Three Meerkat clusters (separate processes) share one redis-server. Users on different
// clusters talk both ways, also right after binding; a 1,000-message flood from one sender
// arrives complete and in order over several links per peer.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { xml } from '@xmpp/client';
import { bodies, chat, GdSuite, startRedis, waitUntil, type MeerkatCluster, type RedisServer, type User } from './harness.ts';

let suite: GdSuite<RedisServer>;
// xmpp.js answers IQs through iqCallee; its bundled typings leave it out.
interface IqCallee {
  iqCallee: { get(ns: string, name: string, handler: () => object): void };
}


beforeAll(async () => {
  suite = await GdSuite.start(startRedis);
  await suite.addClusters(['dc1', 'dc2', 'dc3'].map((name) => ({
    name, certs: suite.certs, redis: { port: suite.redis.port }, users: ['alice', 'bob', 'carol', 'dave'], connectionsPerPeer: 3,
  })));
}, 30_000);

afterAll(() => suite?.stop(), 15_000);

const on = (cluster: MeerkatCluster, user: string, resource?: string): Promise<User> => suite.on(cluster, user, resource);

test('alice on dc1 and bob on dc2 exchange messages both ways, the first one sent right after binding', async () => {
  const [dc1, dc2] = suite.clusters;
  const alice = await on(dc1!, 'alice');
  const bob = await on(dc2!, 'bob');
  // bob writes the moment he is bound: dc1 learns where bob is from Redis or the held retry.
  await bob.xmpp.send(chat('alice@localhost', 'hello from dc2'));
  await waitUntil('alice gets bob\'s message', () => alice.messages().length === 1);
  const got = alice.messages()[0]!;
  expect(got.attrs.from).toBe('bob@localhost/gd');
  expect(got.getChildText('body')).toBe('hello from dc2');
  await alice.xmpp.send(chat(got.attrs.from!, 'hello back from dc1'));
  await waitUntil('bob gets the reply', () => bob.messages().length === 1);
  expect(bob.messages()[0]!.attrs.from).toBe('alice@localhost/gd');
  expect(bodies(bob.messages())).toEqual(['hello back from dc1']);
  expect(alice.errors()).toEqual([]);
  expect(bob.errors()).toEqual([]);
}, 15_000);

test('a user reaches users on both other clusters, by bare and by full JID, and IQs come back', async () => {
  const [dc1, dc2, dc3] = suite.clusters;
  const carol = await on(dc3!, 'carol');
  const dave = await on(dc1!, 'dave');
  const daveOnDc2 = await on(dc2!, 'dave', 'second');
  await carol.xmpp.send(chat('dave@localhost/gd', 'to dave on dc1'));
  await carol.xmpp.send(chat('dave@localhost/second', 'to dave on dc2'));
  await waitUntil('both of dave\'s resources get theirs', () => dave.messages().length === 1 && daveOnDc2.messages().length === 1);
  expect(bodies(dave.messages())).toEqual(['to dave on dc1']);
  expect(bodies(daveOnDc2.messages())).toEqual(['to dave on dc2']);
  // An IQ to a full JID on another cluster is answered by that client through both links.
  (dave.xmpp as unknown as IqCallee).iqCallee.get('urn:xmpp:ping', 'ping', () => ({}));
  const result = await carol.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'dave@localhost/gd' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 10_000);
  expect(result.attrs.type).toBe('result');
  expect(result.attrs.from).toBe('dave@localhost/gd');
}, 15_000);

test('1,000 numbered messages from one sender arrive complete and in order over three links per peer', async () => {
  const [dc1, , dc3] = suite.clusters;
  const sender = await on(dc3!, 'bob', 'flood');
  const receiver = await on(dc1!, 'carol', 'flood');
  const N = 1000;
  for (let i = 0; i < N; i++) sender.xmpp.send(chat('carol@localhost/flood', `m${i}`));
  await waitUntil('all 1,000 arrive', () => receiver.messages().length >= N, 30_000);
  expect(bodies(receiver.messages())).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
  expect(sender.errors()).toEqual([]);
}, 40_000);
