// A link certificate binds a cluster's name. Every cluster's certificate comes from the one
// shared CA, so the chain alone only says "some cluster":
//
// - a peer holding dc2's certificate that says HELLO as dc3 (or sends DATA frames as dc3) is
//   cut off before any of its stanzas is routed;
// - dc1's endpoint entry points at an impostor holding dc3's certificate (as a rewritten
//   endpoints key in Redis would): dc2 refuses every connection there, retries, and returns
//   the stanzas to their sender as service-unavailable; the impostor never reads a frame.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { bodies, chat, GdSuite, startRedis, waitUntil, type CertificateFiles, type MeerkatCluster, type RedisServer, type User } from './harness.ts';
import { encodeData, encodeHello, FRAME_ACK, FrameDecoder } from '../../../modules/mod_global_distrib/frame.ts';

let suite: GdSuite<RedisServer>;
let impostor: Impostor;

interface Impostor {
  readonly port: number;
  /** TCP connections accepted. */
  connections: number;
  /** Application bytes read from any of them. */
  bytesRead: number;
  close(): void;
}

/** A TLS server with a certificate from the shared CA that names another cluster. */
async function startImpostor(files: CertificateFiles): Promise<Impostor> {
  const [cert, key] = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
  const state = { connections: 0, bytesRead: 0 };
  const server = tls.createServer({ cert, key }, (socket) => {
    socket.on('data', (chunk: Buffer) => { state.bytesRead += chunk.length; });
    socket.on('error', () => {});
  });
  server.on('connection', () => { state.connections++; });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get connections() { return state.connections; },
    get bytesRead() { return state.bytesRead; },
    close: () => { server.close(); },
  } as Impostor;
}

beforeAll(async () => {
  suite = await GdSuite.start(startRedis);
  impostor = await startImpostor((await suite.certs.forCluster('dc3')).server);
  suite.alsoStop(() => impostor.close());
  const common = { certs: suite.certs, redis: { port: suite.redis.port }, users: ['alice', 'bob'], deliveryTimeout: '3s', admin: true };
  await suite.addClusters([
    { ...common, name: 'dc1', advertise: async () => `127.0.0.1:${impostor.port}` },
    { ...common, name: 'dc2' },
  ]);
}, 30_000);

afterAll(() => suite?.stop(), 15_000);

const on = (cluster: MeerkatCluster, user: string, resource?: string): Promise<User> => suite.on(cluster, user, resource);

/**
 * Opens a link to `port` with a client certificate and writes HELLO and one DATA frame at
 * once. Settles when the receiver acknowledges the frame or closes the connection.
 */
async function rawLink(port: number, client: CertificateFiles, hello: string, origin: string, to: string, body: string): Promise<'acknowledged' | 'closed'> {
  const [cert, key] = await Promise.all([readFile(client.cert, 'utf8'), readFile(client.key, 'utf8')]);
  const from = 'bob@localhost/raw';
  const stanza = `<message from='${from}' to='${to}' type='chat'><body>${body}</body></message>`;
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, cert, key, ca: suite.certs.ca, checkServerIdentity: () => undefined });
    const decoder = new FrameDecoder();
    socket.on('error', () => {});
    socket.on('secureConnect', () => {
      socket.write(Buffer.concat([encodeHello(hello, 'raw-boot', 7), encodeData(1, 0, origin, from, to, stanza)]));
    });
    socket.on('data', (chunk: Buffer) => {
      if (decoder.push(chunk).some((f) => f.type === FRAME_ACK)) {
        resolve('acknowledged');
        socket.destroy();
      }
    });
    socket.on('close', () => resolve('closed'));
  });
}

function logEvents(cluster: MeerkatCluster, what: string): Record<string, unknown>[] {
  return cluster.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.what === what);
}

async function metric(cluster: MeerkatCluster, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cluster.adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`meerkat_${series} `));
  return line === undefined ? 0 : Number(line.slice(`meerkat_${series} `.length));
}

test("a peer with dc2's certificate claiming to be dc3 is cut off; none of its stanzas is delivered", async () => {
  const [dc1] = suite.clusters;
  const alice = await on(dc1!, 'alice', 'id');
  const dc2Client = (await suite.certs.forCluster('dc2')).client;

  expect(await rawLink(dc1!.linkPort, dc2Client, 'dc3', 'dc3', alice.jid, 'hello-says-dc3')).toBe('closed');
  // HELLO as itself, then a DATA frame as another cluster.
  expect(await rawLink(dc1!.linkPort, dc2Client, 'dc2', 'dc3', alice.jid, 'data-says-dc3')).toBe('closed');
  // The same certificate, honest about its name: routed and acknowledged.
  expect(await rawLink(dc1!.linkPort, dc2Client, 'dc2', 'dc2', alice.jid, 'genuine')).toBe('acknowledged');

  await waitUntil('the genuine message', () => bodies(alice.messages()).includes('genuine'));
  // Routing is synchronous with frame decoding: the refused frames were read before it.
  expect(bodies(alice.messages())).toEqual(['genuine']);

  await waitUntil('both refusals logged', () => logEvents(dc1!, 'gd_link_identity_mismatch').length === 2);
  const mismatches = logEvents(dc1!, 'gd_link_identity_mismatch');
  expect(mismatches.map((e) => e.claimed)).toEqual(['dc3', 'dc3']);
  expect(mismatches[0]!.certificate_names).toEqual(['DNS:dc2', 'CN:dc2']);
  expect(await metric(dc1!, 'gd_link_identity_mismatch_total{direction="inbound"}')).toBe(2);
}, 20_000);

test("dc2 refuses dc1's endpoint when its certificate names dc3: stanzas are retried, then returned, never lost", async () => {
  const [dc1, dc2] = suite.clusters;
  const alice = await on(dc1!, 'alice', 'target');
  const bob = await on(dc2!, 'bob');
  for (let i = 0; i < 3; i++) await bob.xmpp.send(chat(alice.jid, `to-impostor-${i}`));

  await waitUntil('every message returned', () => bob.errors().length === 3, 15_000);
  expect(bodies(bob.errors())).toEqual(['to-impostor-0', 'to-impostor-1', 'to-impostor-2']);
  for (const e of bob.errors()) expect(e.getChild('error')?.getChild('service-unavailable')).toBeDefined();
  expect(alice.messages()).toEqual([]);

  // Refused on every attempt, before a single byte of a frame went out.
  expect(impostor.connections).toBeGreaterThanOrEqual(2);
  expect(impostor.bytesRead).toBe(0);
  await waitUntil('the refusals logged', () => logEvents(dc2!, 'gd_link_identity_mismatch').length >= 2);
  expect(logEvents(dc2!, 'gd_link_identity_mismatch')[0]).toMatchObject({ peer: 'dc1', endpoint: `127.0.0.1:${impostor.port}`, certificate_names: ['DNS:dc3', 'CN:dc3'] });
  expect(await metric(dc2!, 'gd_link_identity_mismatch_total{direction="outbound"}')).toBeGreaterThanOrEqual(2);
}, 20_000);

test('dc1 reaches dc2, whose certificate names it, over the same checks', async () => {
  const [dc1, dc2] = suite.clusters;
  const bob = await on(dc2!, 'bob', 'reply');
  const alice = await on(dc1!, 'alice', 'sender');
  await alice.xmpp.send(chat(bob.jid, 'through'));
  await waitUntil('the message on dc2', () => bodies(bob.messages()).includes('through'));
  expect(alice.errors()).toEqual([]);
  expect(await metric(dc1!, 'gd_link_identity_mismatch_total{direction="outbound"}')).toBe(0);
}, 20_000);
