// Links between clusters under failure. dc1 is reached through a TCP relay the test cuts:
// stanzas in flight are resent on a new connection (and not delivered twice); once dc1 is
// unreachable, they come back to the sender as errors after delivery_timeout. A peer whose
// certificate comes from another CA is refused, and its users' messages come back to them.
// (A certificate from the right CA naming another cluster: identity.test.ts.)

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { bodies, chat, GdSuite, startRedis, waitUntil, type MeerkatCluster, type RedisServer, type User } from './harness.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { encodeHello } from '../../../modules/mod_global_distrib/frame.ts';

let suite: GdSuite<RedisServer>;
let proxy: TcpProxy | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  suite = await GdSuite.start(startRedis);
  suite.alsoStop(() => proxy?.close());
  const common = { certs: suite.certs, redis: { port: suite.redis.port }, users: ['alice', 'bob', 'mallory'], deliveryTimeout: '1500ms' };
  await suite.addClusters([
    { ...common, name: 'dc1', advertise: async (linkPort) => `127.0.0.1:${(proxy = await startTcpProxy(linkPort)).port}` },
    { ...common, name: 'dc2', connectionsPerPeer: 2 },
    { ...common, name: 'dc3', clientCert: (await suite.certs.forCluster('dc3', 'stranger')).client },
  ]);
}, 30_000);

afterAll(() => suite?.stop(), 15_000);

const on = (cluster: MeerkatCluster, user: string, resource?: string): Promise<User> => suite.on(cluster, user, resource);

test('a peer presenting a certificate from another CA is refused before any frame is read; one from the CA naming the cluster it claims is not', async () => {
  const [dc1] = suite.clusters;
  const tryHello = async (cert: string, key: string): Promise<'open' | 'refused'> => {
    // dc1's link certificate names its cluster, not its address.
    const socket = tls.connect({ host: '127.0.0.1', port: dc1!.linkPort, cert, key, ca: suite.certs.ca, checkServerIdentity: (_host, c) => tls.checkServerIdentity('dc1', c) });
    socket.on('error', () => {});
    socket.on('secureConnect', () => socket.write(encodeHello('intruder', 'boot', 0)));
    // A refused client sees the connection closed; an accepted one stays open.
    const closed = new Promise<'refused'>((r) => socket.once('close', () => r('refused')));
    const result = await Promise.race([closed, sleep(700).then(() => 'open' as const)]);
    socket.destroy();
    return result;
  };
  const stranger = (await suite.certs.forCluster('intruder', 'stranger')).client;
  const member = (await suite.certs.forCluster('intruder')).client;
  expect(await tryHello(await readFile(stranger.cert, 'utf8'), await readFile(stranger.key, 'utf8'))).toBe('refused');
  expect(await tryHello(await readFile(member.cert, 'utf8'), await readFile(member.key, 'utf8'))).toBe('open');
});

test('messages from a cluster with a wrong certificate are returned to their sender, never lost', async () => {
  const [dc1, , dc3] = suite.clusters;
  await on(dc1!, 'alice', 'cert');
  const mallory = await on(dc3!, 'mallory');
  for (let i = 0; i < 5; i++) await mallory.xmpp.send(chat('alice@localhost/cert', `x${i}`));
  await waitUntil('every message returned', () => mallory.errors().length === 5, 10_000);
  expect(bodies(mallory.errors())).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
  for (const e of mallory.errors()) expect(e.getChild('error')?.getChild('service-unavailable')).toBeDefined();
}, 15_000);

test('links cut mid-flood are re-established and resend; an unreachable peer gets the rest returned', async () => {
  const [dc1, dc2] = suite.clusters;
  const alice = await on(dc1!, 'alice');
  const bob = await on(dc2!, 'bob');
  const N = 600;
  let sent = 0;
  const sendBatch = async (until: number): Promise<void> => {
    while (sent < until) {
      for (let i = 0; i < 20 && sent < until; i++) bob.xmpp.send(chat('alice@localhost/gd', `m${sent++}`));
      await sleep(5);
    }
  };
  await sendBatch(200);
  proxy!.cut();
  await sendBatch(400);
  proxy!.cut();
  await sendBatch(N);
  await waitUntil('all 600 through the cut links', () => alice.messages().length >= N, 15_000);
  await sleep(200);
  // Resent frames the receiver had already routed are not delivered twice.
  expect(bodies(alice.messages()).length).toBe(N);
  expect(new Set(bodies(alice.messages())).size).toBe(N);
  expect(bob.errors()).toEqual([]);

  // dc1 becomes unreachable: what bob sends now comes back as errors.
  proxy!.close();
  for (let i = 0; i < 10; i++) bob.xmpp.send(chat('alice@localhost/gd', `late${i}`));
  await waitUntil('late messages settled', () => bob.errors().length + bodies(alice.messages()).filter((b) => b.startsWith('late')).length >= 10, 10_000);
  const returned = bodies(bob.errors());
  const delivered = bodies(alice.messages()).filter((b) => b.startsWith('late'));
  expect(new Set([...returned, ...delivered])).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `late${i}`)));
  expect(returned.length).toBeGreaterThan(0);
}, 30_000);
