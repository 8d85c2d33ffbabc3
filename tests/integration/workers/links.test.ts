// Two workers of one node in one test process: two Cores joined by the real unix-socket
// links (server/cluster/worker.ts). alice is on worker 0; bob's resources are spread over
// both. What each FakeSession receives is what its stream would have written.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STOP } from '../../../server/core/hooks.ts';
import type { Core } from '../../../server/core/node.ts';
import { joinWorkers, type WorkerGroup } from '../../../server/cluster/worker.ts';
import { bunRuntime } from '../../../server/runtime/bun.ts';
import { parseJid } from '../../../server/jid.ts';
import { StanzaError } from '../../../server/errors.ts';
import { FakeSession, packet, testCore } from '../../unit/core/fakes.ts';
import { waitUntil as until } from '../../helpers/wait-until.ts';

interface Worker {
  core: Core;
  group: WorkerGroup;
  offline: string[];
  notConnected: string[];
}

let dir: string;
let w: Worker[];

/** Lets queued link writes go out and arrive. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

async function startWorker(index: number): Promise<Worker> {
  const { core } = testCore({ hosts: ['example.com'], userExists: (bare) => ['alice', 'bob', 'dave'].includes(bare.local) });
  const offline: string[] = [];
  const notConnected: string[] = [];
  core.hooks.add('offline_message', 'example.com', ({ packet: p }) => {
    offline.push(`${p.to}:${p.element().getChildText('body')}`);
    return STOP;
  });
  core.hooks.add('user_not_connected', 'example.com', ({ to }) => {
    notConnected.push(to.toString());
  });
  const group = await joinWorkers({ index, count: 2, core, runtime: bunRuntime, dataDir: dir, log: core.logger, redialMs: 20 });
  return { core, group, offline, notConnected };
}

function bind(worker: Worker, jid: string, priority: number, available = true): FakeSession {
  const s = new FakeSession(jid, { priority, available: false });
  worker.core.sessions.open(s);
  if (available) worker.core.sessions.setAvailable(s, priority, packet(`<presence from='${jid}' to='${jid.split('/')[0]}'/>`));
  return s;
}

function chat(to: string, body: string, type = 'chat'): void {
  w[0].core.router.route(packet(`<message from='alice@example.com/r' to='${to}' type='${type}' id='m1'><body>${body}</body></message>`));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-links-'));
  w = [await startWorker(0), await startWorker(1)];
  await until('links up', () => w[0].group.connectedPeers().length === 1 && w[1].group.connectedPeers().length === 1);
});

afterEach(async () => {
  for (const x of w) await x.group.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a message to a full JID on the other worker is written there as the bytes the sender spliced', async () => {
  const alice = bind(w[0], 'alice@example.com/r', 0);
  const phone = bind(w[1], 'bob@example.com/phone', 0);
  await until('bob known on worker 0', () => w[0].group.directory.get(phone.jid) !== undefined);
  chat('bob@example.com/phone', 'hi &amp; bye');
  await until('delivered', () => phone.sent.length === 1);
  expect(phone.wire[0]).toBe("<message from='alice@example.com/r' to='bob@example.com/phone' type='chat' id='m1'><body>hi &amp; bye</body></message>");
  // Read on the receiving side (a hook, a carbon) it parses as a jabber:client stanza.
  expect(phone.sent[0].element().ns).toBe('jabber:client');
  expect(phone.sent[0].element().getChildText('body')).toBe('hi & bye');
  // Written without a parse: the packet still holds the forwarded bytes.
  expect(phone.sent[0].zeroCopy).toBe(true);
  expect(phone.sent[0].hops).toBe(1);
  expect(alice.sent).toHaveLength(0);
  expect(w[0].notConnected).toEqual([]);
});

test('bare-JID messages follow priorities across workers (RFC 6121 §8.5.2.1.1)', async () => {
  bind(w[0], 'alice@example.com/r', 0);
  const desk = bind(w[0], 'bob@example.com/desk', 1);
  const phone = bind(w[1], 'bob@example.com/phone', 5);
  await until('phone known', () => w[0].group.directory.get(phone.jid)?.priority === 5);
  chat('bob@example.com', 'one');
  await until('phone got one', () => phone.sent.length === 1);
  expect(desk.sent).toHaveLength(0);

  // Equal priorities: both resources, one on each worker.
  w[1].core.sessions.setAvailable(phone, 1, packet("<presence from='bob@example.com/phone' to='bob@example.com'/>"));
  await until('phone priority 1', () => w[0].group.directory.get(phone.jid)?.priority === 1);
  chat('bob@example.com', 'two');
  await until('phone got two', () => phone.sent.length === 2);
  expect(desk.sent.map((p) => p.element().getChildText('body'))).toEqual(['two']);

  // The phone goes unavailable: the desk alone.
  w[1].core.sessions.setUnavailable(phone);
  await until('phone unavailable', () => w[0].group.directory.get(phone.jid)?.available === false);
  chat('bob@example.com', 'three');
  await settle();
  expect(phone.sent).toHaveLength(2);
  expect(desk.sent.map((p) => p.element().getChildText('body'))).toEqual(['two', 'three']);
});

test('an account online only on the other worker is neither unknown nor offline; one offline everywhere is', async () => {
  bind(w[0], 'alice@example.com/r', 0);
  const phone = bind(w[1], 'bob@example.com/phone', 0);
  await until('phone known', () => w[0].group.directory.get(phone.jid) !== undefined);
  chat('bob@example.com', 'online');
  chat('dave@example.com', 'offline');
  await until('phone got it', () => phone.sent.length === 1);
  expect(w[0].offline).toEqual(['dave@example.com:offline']);
  expect(w[0].notConnected).toEqual(['dave@example.com']);

  // bob leaves: his entry goes, and the next message is stored for him.
  w[1].core.sessions.remove(phone);
  await until('phone gone', () => w[0].group.directory.get(phone.jid) === undefined);
  chat('bob@example.com', 'later');
  expect(w[0].offline).toEqual(['dave@example.com:offline', 'bob@example.com:later']);
});

test('a stanza forwarded to a session that just closed is handled there by the normal rules', async () => {
  const alice = bind(w[0], 'alice@example.com/r', 0);
  const phone = bind(w[1], 'bob@example.com/phone', 0);
  await until('phone known', () => w[0].group.directory.get(phone.jid) !== undefined);
  // Closed on worker 1; worker 0 routes before it hears so.
  w[1].core.sessions.remove(phone);
  chat('bob@example.com', 'in flight');
  w[0].core.router.route(packet("<iq from='alice@example.com/r' to='bob@example.com/phone' type='get' id='q1'><query xmlns='jabber:iq:version'/></iq>"));
  await until('stored on worker 1', () => w[1].offline.length === 1);
  expect(w[1].offline).toEqual(['bob@example.com:in flight']);
  expect(phone.sent).toHaveLength(0);
  // The IQ to a resource that is gone comes back as service-unavailable, across the link.
  await until('iq error back', () => alice.sent.length === 1);
  expect(alice.sent[0].type).toBe('error');
  expect(StanzaError.fromStanza(alice.sent[0].element()).condition).toBe('service-unavailable');
});

test('an IQ to a resource on the other worker is answered back across the link', async () => {
  const alice = bind(w[0], 'alice@example.com/r', 0);
  const phone = bind(w[1], 'bob@example.com/phone', 0);
  await until('both known', () => w[0].group.directory.get(phone.jid) !== undefined && w[1].group.directory.get(alice.jid) !== undefined);
  w[0].core.router.route(packet("<iq from='alice@example.com/r' to='bob@example.com/phone' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>"));
  await until('iq arrived', () => phone.sent.length === 1);
  expect(phone.sent[0].kind).toBe('iq');
  expect(phone.sent[0].id).toBe('v1');
  w[1].core.router.route(packet("<iq from='bob@example.com/phone' to='alice@example.com/r' type='result' id='v1'/>"));
  await until('result arrived', () => alice.sent.length === 1);
  expect(alice.wire[0]).toContain("type='result'");
  expect(alice.wire[0]).toContain("id='v1'");
});

test('presence to the bare JID reaches the available resources on both workers', async () => {
  bind(w[0], 'alice@example.com/r', 0);
  const desk = bind(w[0], 'bob@example.com/desk', 0);
  const phone = bind(w[1], 'bob@example.com/phone', -1);
  await until('phone known', () => w[0].group.directory.get(phone.jid)?.available === true);
  w[0].core.router.route(packet("<presence from='alice@example.com/r' to='bob@example.com' type='unavailable'/>"));
  await until('phone got it', () => phone.sent.length === 1);
  expect(desk.sent).toHaveLength(1);
});

test('stale directories that point at each other are cut by the hop budget', async () => {
  bind(w[0], 'alice@example.com/r', 0);
  // Each worker believes the other holds bob/ghost.
  w[0].group.directory.up(1, 'bob@example.com/ghost', 0, true, 1);
  w[1].group.directory.up(0, 'bob@example.com/ghost', 0, true, 1);
  w[0].core.router.route(packet("<iq from='alice@example.com/r' to='bob@example.com/ghost' type='result' id='x'/>"));
  await until('dropped', () => w[0].core.router.stats.hopLimitDrops + w[1].core.router.stats.hopLimitDrops === 1);
  await settle();
  const routed = w[0].core.router.stats.routed + w[1].core.router.stats.routed;
  expect(routed).toBeLessThanOrEqual(w[0].core.router.maxHops);
  expect(w[0].core.router.stats.hopLimitDrops + w[1].core.router.stats.hopLimitDrops).toBe(1);
});

test('the same full JID bound on both workers: the later one stays, the earlier one gets <conflict/>', async () => {
  const first = bind(w[0], 'bob@example.com/same', 0);
  await new Promise((r) => setTimeout(r, 5));
  const second = bind(w[1], 'bob@example.com/same', 0);
  await until('first closed', () => first.closed);
  expect(first.closedWith?.condition).toBe('conflict');
  expect(second.closed).toBe(false);
  expect(w[0].core.sessions.get(parseJid('bob@example.com/same'))).toBeUndefined();
  await until('worker 0 sees the survivor', () => w[0].group.directory.get(second.jid)?.worker === 1);
});

test('a worker that stops takes its directory entries with it', async () => {
  const phone = bind(w[1], 'bob@example.com/phone', 0);
  await until('phone known', () => w[0].group.directory.get(phone.jid) !== undefined);
  await w[1].group.stop();
  await until('entries dropped', () => w[0].group.directory.get(phone.jid) === undefined);
  expect(w[0].group.connectedPeers()).toEqual([]);
  // A worker started again in its place is linked again and announces afresh.
  w[1] = await startWorker(1);
  const again = bind(w[1], 'bob@example.com/phone', 3);
  await until('known again', () => w[0].group.directory.get(again.jid)?.priority === 3);
});
