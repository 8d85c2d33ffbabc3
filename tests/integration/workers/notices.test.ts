// Notices between two workers of one node in one test process: two Cores on one SQLite file
// (as the workers of a node share data_dir), joined by the real unix-socket links, running
// mod_mam, mod_register and mod_roster. A change made through worker 0 must be what worker 1
// acts on: archive preferences, a removed account, and a probe answered for the resources
// worker 1 holds.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Core } from '../../../server/core/node.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { joinWorkers, type WorkerGroup } from '../../../server/cluster/worker.ts';
import { bunRuntime } from '../../../server/runtime/bun.ts';
import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import type { Storage, StoredCredentials } from '../../../server/storage/storage.ts';
import { modMam } from '../../../modules/mod_mam/index.ts';
import { modRegister } from '../../../modules/mod_register.ts';
import { modRoster, rosterIdle } from '../../../modules/mod_roster/index.ts';
import { parseJid } from '../../../server/jid.ts';
import { Packet } from '../../../server/core/packet.ts';
import type { Element } from '../../../server/xml/element.ts';
import { FakeSession, packet, parseXml, testCore } from '../../unit/core/fakes.ts';
import { waitUntil as until } from '../../helpers/wait-until.ts';

const HOST = 'example.com';
const MODULES = [modMam, modRegister, modRoster] as ModuleDefinition<unknown>[];

interface Worker {
  core: Core;
  storage: Storage;
  group: WorkerGroup;
}

let dir: string;
let w: Worker[];

async function startWorker(index: number): Promise<Worker> {
  const storage = createSqliteStorage(openBunSqlite(join(dir, 'meerkat.db')), { synchronous: 'normal', busyTimeout: 2000 });
  const { core } = testCore({ hosts: [HOST], storage, modules: MODULES, userExists: (bare) => storage.users.existsSync!(bare.domain, bare.local) });
  await core.registry.start({ modules: { [HOST]: { mod_mam: { value: {} }, mod_register: { value: {} }, mod_roster: { value: {} } } } });
  const group = await joinWorkers({ index, count: 2, core, runtime: bunRuntime, dataDir: dir, log: core.logger, redialMs: 20 });
  return { core, storage, group };
}

function bind(worker: Worker, jid: string): FakeSession {
  const s = new FakeSession(jid, { available: false });
  worker.core.sessions.open(s);
  return s;
}

/** An IQ from a bound session, answered by the worker holding it. */
async function iq(worker: Worker, session: FakeSession, xmlText: string): Promise<Element> {
  const el = parseXml(xmlText);
  const id = el.attrs.id;
  const before = session.wire.length;
  worker.core.router.routeFromSession(session, Packet.fromElement(el, session.jid, session.jid.bare()));
  let answer: Element | undefined;
  await until(`answer to ${id}`, () => {
    answer = session.wire.slice(before).map((t) => parseXml(t)).find((e) => e.localName === 'iq' && e.attrs.id === id);
    return answer !== undefined;
  });
  return answer!;
}

/**
 * Waits until everything worker 0 sent to worker 1 so far has arrived: a headline from a
 * session on worker 0 to one on worker 1 travels behind it on the same link.
 */
let marks = 0;
async function linkBarrier(from: FakeSession, to: FakeSession): Promise<void> {
  const n = ++marks;
  w[0].core.router.routeFromSession(from, packet(`<message from='${from.jid}' to='${to.jid}' type='headline' id='mark-${n}'/>`));
  await until('the mark arrived', () => to.sent.some((p) => p.id === `mark-${n}`));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-notices-'));
  w = [await startWorker(0)];
  for (const u of ['alice', 'bob', 'carol']) await w[0].storage.users.create(HOST, u, {} as StoredCredentials);
  w.push(await startWorker(1));
  await until('links up', () => w[0].group.connectedPeers().length === 1 && w[1].group.connectedPeers().length === 1);
});

afterEach(async () => {
  for (const x of w) {
    await x.group.stop();
    await x.core.registry.stop();
    await x.storage.close();
  }
  await rm(dir, { recursive: true, force: true });
});

test('archive preferences set through worker 0 decide what worker 1 archives', async () => {
  const alice = bind(w[0], 'alice@example.com/phone');
  const bob = bind(w[1], 'bob@example.com/desk');
  await until('alice known on worker 1', () => w[1].group.directory.get(alice.jid) !== undefined);
  const message = (id: string) => packet(`<message from='bob@example.com/desk' to='alice@example.com/phone' type='chat' id='${id}'><body>${id}</body></message>`);
  // Worker 1 archives for alice with the default preferences, and caches them.
  w[1].core.router.routeFromSession(bob, message('kept'));
  await until('delivered', () => alice.sent.length === 1);
  expect(await w[0].storage.archive.count(HOST, 'alice')).toBe(1);

  const set = await iq(w[0], alice, "<iq type='set' id='p1'><prefs xmlns='urn:xmpp:mam:2' default='never'/></iq>");
  expect(set.attrs.type).toBe('result');
  const bobOn1 = bind(w[1], 'bob@example.com/mark');
  await until('mark known on worker 0', () => w[0].group.directory.get(bobOn1.jid) !== undefined);
  await linkBarrier(alice, bobOn1);
  w[1].core.router.routeFromSession(bob, message('not-kept'));
  await until('delivered', () => alice.sent.length === 2);
  expect(await w[0].storage.archive.count(HOST, 'alice')).toBe(1);
});

test('an account removed through worker 0 loses its sessions on worker 1', async () => {
  const phone = bind(w[0], 'carol@example.com/phone');
  const desk = bind(w[1], 'carol@example.com/desk');
  const removed = await iq(w[0], phone, "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><remove/></query></iq>");
  expect(removed.attrs.type).toBe('result');
  await until('desk closed', () => desk.closed);
  expect(desk.closedWith?.condition).toBe('not-authorized');
  await until('phone closed', () => phone.closed);
});

test('a probe routed by worker 0 is answered for the resources worker 1 holds', async () => {
  // bob is subscribed to alice's presence; alice is online on worker 1 only.
  await w[0].storage.roster.put(HOST, 'alice', { jid: 'bob@example.com', name: '', subscription: 'from', ask: false, groups: [], approved: false });
  await w[0].storage.roster.put(HOST, 'bob', { jid: 'alice@example.com', name: '', subscription: 'to', ask: false, groups: [], approved: false });
  const alice = bind(w[1], 'alice@example.com/desk');
  w[1].core.sessions.setAvailable(alice, 3, packet("<presence from='alice@example.com/desk' to='alice@example.com'><show>dnd</show><priority>3</priority></presence>"));
  await until('alice available on worker 0', () => w[0].group.directory.get(alice.jid)?.available === true);
  await rosterIdle(w[1].core.hooks, HOST);

  // bob comes online on worker 0: his initial presence probes alice.
  const bob = bind(w[0], 'bob@example.com/phone');
  w[0].core.sessions.setAvailable(bob, 0, packet("<presence from='bob@example.com/phone' to='bob@example.com'/>"));
  await until('bob got alice\'s presence', () => bob.sent.some((p) => p.kind === 'presence' && p.from.equals(alice.jid)));
  await rosterIdle(w[0].core.hooks, HOST);
  const fromAlice = bob.sent.filter((p) => p.kind === 'presence' && p.from.bare().equals(parseJid('alice@example.com')));
  expect(fromAlice.map((p) => `${p.from}:${p.type ?? 'available'}:${p.element().getChildText('show')}`)).toEqual(['alice@example.com/desk:available:dnd']);
});
