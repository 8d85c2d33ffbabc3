// What must not be lost: a recipient who moves to another cluster in the middle of a flood
// gets every message; a Redis that stops answering (SIGSTOP), then dies and comes back empty,
// never blocks local traffic, every cross-cluster message ends delivered or returned to its
// sender, and routing works again once the clusters have re-published their sessions.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { bodies, chat, GdSuite, startRedis, waitUntil, type MeerkatCluster, type RedisServer, type User } from './harness.ts';

let suite: GdSuite<RedisServer>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  suite = await GdSuite.start(startRedis);
  await suite.addClusters(['dc1', 'dc2', 'dc3'].map((name) => ({
    name, certs: suite.certs, redis: { port: suite.redis.port }, users: ['alice', 'bob', 'carol', 'dave', 'erin'],
  })));
}, 30_000);

afterAll(() => suite?.stop(), 15_000);

const on = (cluster: MeerkatCluster, user: string, resource?: string): Promise<User> => suite.on(cluster, user, resource);

test('alice moves from dc1 to dc2 while bob on dc3 floods her: all 1,000 messages reach her, once each', async () => {
  const [dc1, dc2, dc3] = suite.clusters;
  const bob = await on(dc3!, 'bob');
  const aliceOnDc1 = await on(dc1!, 'alice');
  const N = 1000;
  let sent = 0;
  const flood = (async () => {
    while (sent < N) {
      for (let i = 0; i < 25 && sent < N; i++) bob.xmpp.send(chat('alice@localhost', `m${sent++}`));
      await sleep(10);
    }
  })();
  await waitUntil('alice to get some on dc1', () => aliceOnDc1.messages().length >= 200);
  await aliceOnDc1.stop();
  const aliceOnDc2 = await on(dc2!, 'alice');
  await flood;
  const all = () => [...bodies(aliceOnDc1.messages()), ...bodies(aliceOnDc2.messages())];
  await waitUntil('every message to reach alice', () => all().length >= N, 20_000);
  await sleep(300); // a duplicate would arrive now
  expect(all().length).toBe(N);
  expect(new Set(all())).toEqual(new Set(Array.from({ length: N }, (_, i) => `m${i}`)));
  expect(aliceOnDc2.messages().length).toBeGreaterThan(0);
  expect(bob.errors()).toEqual([]);
}, 40_000);

test('Redis stopped then restarted empty mid-flood: local traffic flows, nothing is silently lost, routing recovers', async () => {
  const [dc1, dc2, dc3] = suite.clusters;
  const carol = await on(dc1!, 'carol');
  const dave = await on(dc1!, 'dave');
  const erin = await on(dc2!, 'erin');
  // dc2 has never routed to carol: each of erin's messages needs the routing table.
  suite.redis.pause();
  const LOCAL = 300;
  const CROSS = 100;
  for (let i = 0; i < LOCAL; i++) dave.xmpp.send(chat('carol@localhost', `local${i}`));
  for (let i = 0; i < CROSS; i++) {
    erin.xmpp.send(chat('carol@localhost', `cross${i}`));
    if (i % 10 === 9) await sleep(20);
  }
  // Local delivery does not wait for Redis.
  await waitUntil('every local message while Redis is stopped', () => bodies(carol.messages()).filter((b) => b.startsWith('local')).length === LOCAL, 10_000);

  await suite.redis.restartEmpty();
  // Every cross-cluster message ends delivered to carol or returned to erin as an error.
  const delivered = () => new Set(bodies(carol.messages()).filter((b) => b.startsWith('cross')));
  const returned = () => new Set(erin.errors().map((e) => e.getChildText('body') ?? ''));
  await waitUntil('every cross-cluster message settled', () => delivered().size + returned().size >= CROSS, 20_000);
  for (let i = 0; i < CROSS; i++) expect(delivered().has(`cross${i}`) || returned().has(`cross${i}`)).toBe(true);
  for (const e of erin.errors()) expect(e.getChild('error')?.getChild('service-unavailable')).toBeDefined();
  expect(delivered().size + returned().size).toBe(CROSS);

  // The restarted Redis is empty; the clusters write their sessions again. A user on dc3 who
  // never talked to carol (nothing cached) reaches her.
  const bob = await on(dc3!, 'bob', 'late');
  await bob.xmpp.send(chat('carol@localhost', 'after restart'));
  await waitUntil('a message routed through the re-published table', () => bodies(carol.messages()).includes('after restart'), 15_000);
  expect(bob.errors()).toEqual([]);
}, 50_000);
