// The routing table against a real redis-server: a late cleanup by the cluster a user left
// does not remove the entry of the cluster she moved to; lookups fall back from a full JID to
// its account; commands are bounded and time out instead of waiting on a stopped Redis.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { BoundedRedis, createRedisClient, RedisOverloadError } from '../../../modules/mod_global_distrib/redis.ts';
import { RoutingTable } from '../../../modules/mod_global_distrib/routing-table.ts';
import { redisPoolSchema } from '../../../server/config/meerkat-schema.ts';
import { parseJid } from '../../../server/jid.ts';
import { startRedis, type RedisServer } from './harness.ts';

let redis: RedisServer;
const clients: BoundedRedis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const c of clients) await c.quit();
  await redis.stop();
});

function table(cluster: string, maxPending = 100): RoutingTable {
  const pool = redisPoolSchema.parse({ port: redis.port, command_timeout: '300ms', connect_timeout: '1s' });
  const client = new BoundedRedis(createRedisClient(pool), { maxPending });
  clients.push(client);
  return new RoutingTable(client, cluster, 60_000);
}

test('a session closing on the old cluster leaves the new cluster\'s entries alone', async () => {
  const dc1 = table('dc1');
  const dc2 = table('dc2');
  const alice = parseJid('alice@x/phone:1');
  await dc1.addSession(alice);
  expect(await dc2.lookup(alice)).toBe('dc1');
  await dc2.addSession(alice); // she reconnected to dc2 before dc1 noticed
  await dc1.removeSession(alice, true);
  expect(await dc1.lookup(alice)).toBe('dc2');
  expect(await dc1.lookup(alice.bare())).toBe('dc2');
  await dc2.removeSession(alice, true);
  expect(await dc1.lookup(alice)).toBeUndefined();
  expect(await dc1.lookup(alice.bare())).toBeUndefined();
});

test('a full JID without its own entry falls back to its account, unless asked for exactly it', async () => {
  const dc1 = table('dc1');
  await dc1.addSession(parseJid('bob@x/desk'));
  expect(await dc1.lookup(parseJid('bob@x/phone'))).toBe('dc1');
  expect(await dc1.lookup(parseJid('bob@x/phone'), true)).toBeUndefined();
  // A resource that looks like key syntax is its own entry.
  expect(await dc1.lookup(parseJid('bob@x/desk:f:x'), true)).toBeUndefined();
});

test('endpoints and domains of live clusters are read back; this cluster\'s own are not "remote"', async () => {
  const dc1 = table('dc1');
  const dc2 = table('dc2');
  await dc1.publishCluster('n1', ['127.0.0.1:5555'], new Map([['muc.x', false], ['secret.x', true]]));
  await dc2.publishCluster('n2', ['127.0.0.1:6666'], new Map());
  expect(await dc2.endpoints('dc1')).toEqual(['127.0.0.1:5555']);
  expect(await dc2.remoteDomains()).toEqual(new Map([['muc.x', { cluster: 'dc1', hidden: false }], ['secret.x', { cluster: 'dc1', hidden: true }]]));
  expect((await dc1.remoteDomains()).size).toBe(0);
});

test('a stopped Redis makes lookups fail (timeout), and the pending bound refuses the excess at once', async () => {
  const dc1 = table('dc1', 3);
  await dc1.lookup(parseJid('warm@x'));
  redis.pause();
  try {
    const lookups = Array.from({ length: 5 }, (_, i) => dc1.lookup(parseJid(`u${i}@x`)).then(() => 'answered', (e: Error) => e));
    const results = await Promise.all(lookups);
    expect(results.filter((r) => r instanceof RedisOverloadError).length).toBe(2);
    for (const r of results) expect(r).toBeInstanceOf(Error);
  } finally {
    redis.resume();
  }
  expect(await dc1.lookup(parseJid('u0@x'))).toBeUndefined();
});
