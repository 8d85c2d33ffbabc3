// The routing table on a Redis Cluster (three masters the test creates with redis-cli):
// users on two Meerkat clusters talk both ways, and an external component connected to dc1
// is reachable from a user on dc2 and listed in dc2's disco#items.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { xml } from '@xmpp/client';
import { component, type Component } from '@xmpp/component';
import { bodies, chat, GdSuite, startRedisCluster, waitUntil, type MeerkatCluster, type RedisClusterServers, type User } from './harness.ts';

let suite: GdSuite<RedisClusterServers>;
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

let echo: Component | undefined;

beforeAll(async () => {
  suite = await GdSuite.start(startRedisCluster);
  suite.alsoStop(() => echo?.stop());
  await suite.addClusters(['dc1', 'dc2'].map((name) => ({
    name, certs: suite.certs, redis: { nodes: suite.redis.nodes }, users: ['alice', 'bob', 'carol', 'dave'], componentPassword: 'echo-secret',
  })));
}, 40_000);

afterAll(() => suite?.stop(), 15_000);

const on = (cluster: MeerkatCluster, user: string, resource?: string): Promise<User> => suite.on(cluster, user, resource);

test('users on two clusters exchange messages through a Redis Cluster routing table', async () => {
  const [dc1, dc2] = suite.clusters;
  const pairs = [['alice', 'bob'], ['carol', 'dave']] as const;
  for (const [a, b] of pairs) {
    const left = await on(dc1!, a);
    const right = await on(dc2!, b);
    await right.xmpp.send(chat(`${a}@localhost`, `hi ${a}`));
    await waitUntil(`${a} gets ${b}'s message`, () => left.messages().length === 1);
    await left.xmpp.send(chat(`${b}@localhost/gd`, `hi ${b}`));
    await waitUntil(`${b} gets the answer`, () => right.messages().length === 1);
    expect(bodies(left.messages())).toEqual([`hi ${a}`]);
    expect(bodies(right.messages())).toEqual([`hi ${b}`]);
  }
}, 20_000);

test('a component on dc1 answers a user on dc2 and is listed in dc2\'s disco#items', async () => {
  const [dc1, dc2] = suite.clusters;
  echo = component({ service: `xmpp://127.0.0.1:${dc1!.componentPort}`, domain: 'echo.gd', password: 'echo-secret' });
  echo.reconnect.stop();
  echo.on('error', () => {});
  echo.on('stanza', (s) => {
    if (!s.is('message') || s.attrs.type === 'error') return;
    void echo!.send(xml('message', { type: 'chat', from: 'echo.gd', to: s.attrs.from }, xml('body', {}, `echo: ${s.getChildText('body') ?? ''}`)));
  });
  await echo.start();
  const user = await on(dc2!, 'bob', 'component');
  const listed = async (): Promise<boolean> => {
    const items = await user.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('query', { xmlns: NS_DISCO_ITEMS })));
    return (items.getChild('query')?.getChildren('item') ?? []).some((i) => i.attrs.jid === 'echo.gd');
  };
  await waitUntil('dc2 lists echo.gd', listed, 10_000);
  await user.xmpp.send(chat('echo.gd', 'ping'));
  await waitUntil('the echo', () => user.messages().length === 1);
  expect(user.messages()[0]!.attrs.from).toBe('echo.gd');
  expect(bodies(user.messages())).toEqual(['echo: ping']);
}, 20_000);
