// Paging through 10,000 archived messages over XEP-0313 with RSM, on a core with mod_mam and
// a file-backed SQLite store: the archive is filled with one bulk insert, then a client pages
// forward with <after/> and backward with <before/>; every id must appear exactly once, in order.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { modMam } from '../../../modules/mod_mam/index.ts';
import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import type { StoredCredentials } from '../../../server/storage/storage.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import { Packet } from '../../../server/core/packet.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import type { Core } from '../../../server/core/node.ts';
import type { Element } from '../../../server/xml/element.ts';
import { FakeSession, parseXml, testCore } from '../../unit/core/fakes.ts';

const HOST = 'example.com';
const TOTAL = 10_000;
const MAM = 'urn:xmpp:mam:2';
let dir: string;
let storage: Storage;
let core: Core;
let bob: FakeSession;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-mam-paging-'));
  const path = join(dir, 'db.sqlite');
  storage = createSqliteStorage(openBunSqlite(path), { synchronous: 'normal', busyTimeout: 1000 });
  await storage.users.create(HOST, 'bob', {} as StoredCredentials);
  const bulk = openBunSqlite(path);
  const insert = bulk.prepare('INSERT INTO mam_messages (host, username, with_jid, direction, ts, stanza) VALUES (?, ?, ?, ?, ?, ?)');
  const t0 = Date.now() - TOTAL * 1000;
  bulk.transaction(() => {
    for (let i = 0; i < TOTAL; i++) {
      insert.run(HOST, 'bob', 'alice@example.com', 0, t0 + i * 1000, `<message xmlns="jabber:client" from="alice@example.com/a" to="bob@example.com" type="chat"><body>${i}</body></message>`);
    }
  });
  bulk.close();
  ({ core } = testCore({ storage, modules: [modMam as ModuleDefinition<unknown>] }));
  await core.registry.start({ modules: { [HOST]: { mod_mam: { value: { max_page_size: 500 } } } } });
  bob = new FakeSession('bob@example.com/b');
  core.sessions.open(bob);
});

afterAll(async () => {
  await core.registry.stop();
  await storage.close();
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
async function page(rsm: string): Promise<{ ids: string[]; bodies: string[]; fin: Element }> {
  const id = `q${seq++}`;
  const start = bob.wire.length;
  const el = parseXml(`<iq type='set' id='${id}'><query xmlns='${MAM}' queryid='${id}'><set xmlns='http://jabber.org/protocol/rsm'>${rsm}</set></query></iq>`);
  core.router.routeFromSession(bob, Packet.fromElement(el, bob.jid, bob.jid.bare()));
  for (let i = 0; i < 200; i++) {
    const got = bob.wire.slice(start).map((w) => parseXml(w));
    const answer = got.find((s) => s.localName === 'iq' && s.attrs.id === id);
    if (answer !== undefined) {
      const fin = answer.getChild('fin', MAM);
      if (fin === undefined) throw new Error(`query failed: ${bob.wire.at(-1)}`);
      const results = got.filter((s) => s.localName === 'message').map((m) => m.getChild('result', MAM)!);
      return {
        ids: results.map((r) => r.attrs.id),
        bodies: results.map((r) => r.getChild('forwarded')!.getChild('message')!.getChildText('body')!),
        fin,
      };
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('no answer');
}

test('forward with <after/>: all 10,000 messages, each once, in order, complete only at the end', async () => {
  const ids: string[] = [];
  const bodies: string[] = [];
  let after = '';
  for (;;) {
    const p = await page(`<max>333</max>${after ? `<after>${after}</after>` : ''}`);
    ids.push(...p.ids);
    bodies.push(...p.bodies);
    const complete = p.fin.attrs.complete === 'true';
    if (complete) break;
    expect(p.ids).toHaveLength(333);
    after = p.fin.getChild('set')!.getChildText('last')!;
    expect(after).toBe(p.ids.at(-1)!);
  }
  expect(ids).toHaveLength(TOTAL);
  expect(new Set(ids).size).toBe(TOTAL);
  const numeric = ids.map(Number);
  for (let i = 1; i < numeric.length; i++) expect(numeric[i]).toBeGreaterThan(numeric[i - 1]);
  expect(bodies).toEqual(Array.from({ length: TOTAL }, (_, i) => String(i)));
});

test('backward with <before/>: the same ids from the newest end', async () => {
  const pages: string[][] = [];
  let before = '';
  for (;;) {
    const p = await page(`<max>500</max><before>${before}</before>`);
    pages.unshift(p.ids);
    if (p.fin.attrs.complete === 'true') break;
    before = p.fin.getChild('set')!.getChildText('first')!;
  }
  const ids = pages.flat();
  expect(ids).toHaveLength(TOTAL);
  expect(new Set(ids).size).toBe(TOTAL);
  const numeric = ids.map(Number);
  for (let i = 1; i < numeric.length; i++) expect(numeric[i]).toBeGreaterThan(numeric[i - 1]);
});

test('a <max/> above max_page_size is lowered to it', async () => {
  const p = await page('<max>100000</max>');
  expect(p.ids).toHaveLength(500);
});
