// The SQLite roster store keeps recently read rosters: a second read costs no query, and
// every change shows at the next read — this connection's writes, an account's removal, and
// what another connection (another worker process, meerkatctl) commits to the same file.

import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import type { SqlDriver } from '../../../server/storage/sqlite/driver.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import { RosterCache } from '../../../server/storage/sqlite/roster-cache.ts';
import type { RosterItem } from '../../../server/storage/roster.ts';
import type { Storage, StoredCredentials } from '../../../server/storage/storage.ts';

const H = 'example.com';
const dirs: string[] = [];
const opened: Storage[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Storage on a file, with the SQL texts this connection runs counted. */
function openCounted(path: string): { storage: Storage; ran: string[] } {
  const ran: string[] = [];
  const driver = openBunSqlite(path);
  const counted: SqlDriver = {
    ...driver,
    prepare(text) {
      const st = driver.prepare(text);
      const note = (): void => {
        ran.push(text.replace(/\s+/g, ' ').trim());
      };
      return {
        run: (...p) => (note(), st.run(...p)),
        get: (...p) => (note(), st.get(...p)),
        all: (...p) => (note(), st.all(...p)),
      };
    },
  };
  const storage = createSqliteStorage(counted, { synchronous: 'normal', busyTimeout: 5000 });
  opened.push(storage);
  return { storage, ran };
}

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-roster-cache-'));
  dirs.push(dir);
  return join(dir, 'meerkat.sqlite3');
}

const item = (jid: string, subscription: RosterItem['subscription'] = 'both'): RosterItem => ({ jid, name: undefined, subscription, ask: false, approved: false, groups: ['Friends'] });

describe('roster reads from memory', () => {
  test('a second read runs no roster query, only the data_version check', async () => {
    const { storage, ran } = openCounted(tempFile());
    await storage.roster.put(H, 'alice', item('bob@example.com'));
    await storage.roster.setPending(H, 'alice', { jid: 'carol@example.com', stanza: '<presence type="subscribe"/>' });
    const first = await storage.roster.get(H, 'alice');
    const pending = await storage.roster.pending(H, 'alice');
    ran.length = 0;
    expect(await storage.roster.get(H, 'alice')).toEqual(first);
    expect(await storage.roster.pending(H, 'alice')).toEqual(pending);
    expect(await storage.roster.getItem(H, 'alice', 'bob@example.com')).toEqual(item('bob@example.com'));
    expect(await storage.roster.getItem(H, 'alice', 'nobody@example.com')).toBeUndefined();
    expect((await storage.roster.getPending(H, 'alice', 'carol@example.com'))?.stanza).toBe('<presence type="subscribe"/>');
    expect(await storage.roster.version(H, 'alice')).toBe(1);
    expect(ran).toEqual(Array(6).fill('PRAGMA data_version'));
  });

  test('an empty roster that never changed: no items, version 0', async () => {
    const { storage } = openCounted(tempFile());
    expect(await storage.roster.get(H, 'alice')).toEqual({ items: [], version: 0 });
    expect(await storage.roster.get(H, 'alice')).toEqual({ items: [], version: 0 });
    expect(await storage.roster.version(H, 'alice')).toBe(0);
  });

  test('what a reader does to the arrays it got does not change what the next reader gets', async () => {
    const { storage } = openCounted(tempFile());
    await storage.roster.put(H, 'alice', item('bob@example.com'));
    const got = await storage.roster.get(H, 'alice');
    got.items.length = 0;
    (await storage.roster.pending(H, 'alice')).push({ jid: 'x@example.com', stanza: '' });
    expect((await storage.roster.get(H, 'alice')).items).toEqual([item('bob@example.com')]);
    expect(await storage.roster.pending(H, 'alice')).toEqual([]);
  });
});

test('reading a roster takes no write lock (another worker may be writing)', async () => {
  const file = tempFile();
  const mine = createSqliteStorage(openBunSqlite(file), { synchronous: 'normal', busyTimeout: 0 });
  opened.push(mine);
  await mine.roster.put(H, 'alice', item('bob@example.com'));
  const other = openBunSqlite(file);
  try {
    other.exec('BEGIN IMMEDIATE');
    // Not read before: from the database, with a write transaction open elsewhere.
    expect(await mine.roster.get(H, 'bob')).toEqual({ items: [], version: 0 });
    expect(await mine.roster.pending(H, 'bob')).toEqual([]);
    other.exec('ROLLBACK');
  } finally {
    other.close();
  }
});

describe('every change shows at the next read', () => {
  test("this connection's writes: put, remove, pending set and removed", async () => {
    const { storage } = openCounted(tempFile());
    const r = storage.roster;
    expect(await r.get(H, 'alice')).toEqual({ items: [], version: 0 });
    await r.put(H, 'alice', item('bob@example.com', 'to'));
    expect(await r.get(H, 'alice')).toEqual({ items: [item('bob@example.com', 'to')], version: 1 });
    await r.put(H, 'alice', item('bob@example.com', 'both'));
    expect(await r.getItem(H, 'alice', 'bob@example.com')).toEqual(item('bob@example.com', 'both'));
    await r.put(H, 'alice', item('adam@example.com'));
    expect((await r.get(H, 'alice')).items.map((i) => i.jid)).toEqual(['adam@example.com', 'bob@example.com']);
    expect(await r.remove(H, 'alice', 'bob@example.com')).toBe(4);
    expect(await r.get(H, 'alice')).toEqual({ items: [item('adam@example.com')], version: 4 });
    expect(await r.version(H, 'alice')).toBe(4);

    expect(await r.pending(H, 'alice')).toEqual([]);
    await r.setPending(H, 'alice', { jid: 'carol@example.com', stanza: '<a/>' });
    expect(await r.pending(H, 'alice')).toEqual([{ jid: 'carol@example.com', stanza: '<a/>' }]);
    await r.setPending(H, 'alice', { jid: 'carol@example.com', stanza: '<b/>' });
    expect((await r.getPending(H, 'alice', 'carol@example.com'))?.stanza).toBe('<b/>');
    expect(await r.removePending(H, 'alice', 'carol@example.com')).toBe(true);
    expect(await r.pending(H, 'alice')).toEqual([]);
    expect(await r.getPending(H, 'alice', 'carol@example.com')).toBeUndefined();
  });

  test('removing the account forgets its roster; a new account of that name starts empty', async () => {
    const { storage } = openCounted(tempFile());
    await storage.users.create(H, 'alice', {} as StoredCredentials);
    await storage.roster.put(H, 'alice', item('bob@example.com'));
    await storage.roster.setPending(H, 'alice', { jid: 'carol@example.com', stanza: '<a/>' });
    expect((await storage.roster.get(H, 'alice')).items.length).toBe(1);
    expect((await storage.roster.pending(H, 'alice')).length).toBe(1);
    expect(await storage.users.remove(H, 'alice')).toBe(true);
    expect(await storage.roster.get(H, 'alice')).toEqual({ items: [], version: 0 });
    expect(await storage.roster.pending(H, 'alice')).toEqual([]);
  });

  test("another connection's commits, to this user's roster or anywhere else", async () => {
    const file = tempFile();
    const { storage: mine, ran } = openCounted(file);
    const { storage: theirs } = openCounted(file);
    await mine.roster.put(H, 'alice', item('bob@example.com'));
    expect((await mine.roster.get(H, 'alice')).items).toEqual([item('bob@example.com')]);
    expect(await mine.roster.pending(H, 'alice')).toEqual([]);

    await theirs.roster.put(H, 'alice', item('carol@example.com'));
    expect(await mine.roster.get(H, 'alice')).toEqual({ items: [item('bob@example.com'), item('carol@example.com')], version: 2 });
    await theirs.roster.setPending(H, 'alice', { jid: 'dave@example.com', stanza: '<a/>' });
    expect(await mine.roster.pending(H, 'alice')).toEqual([{ jid: 'dave@example.com', stanza: '<a/>' }]);
    await theirs.roster.remove(H, 'alice', 'bob@example.com');
    expect(await mine.roster.getItem(H, 'alice', 'bob@example.com')).toBeUndefined();

    // An unrelated commit elsewhere drops what was kept: read again, same answer.
    expect((await mine.roster.get(H, 'alice')).items.length).toBe(1);
    await theirs.kv.set(H, 'zed', 'urn:example', 'k', 'v');
    ran.length = 0;
    expect((await mine.roster.get(H, 'alice')).items).toEqual([item('carol@example.com')]);
    expect(ran.length).toBe(2);
  });
});

describe('the cache itself', () => {
  test('keeps the most recently used rosters within its row budget', () => {
    const cache = new RosterCache(() => 1, 5);
    cache.validate();
    cache.keepItems(H, 'a', [item('1@x'), item('2@x')], 1);
    cache.keepItems(H, 'b', [], 0);
    cache.keepItems(H, 'c', [item('3@x')], 1);
    expect(cache.size).toBe(3);
    expect(cache.items(H, 'a')).toBeDefined(); // a is now the most recent
    cache.keepItems(H, 'd', [item('4@x'), item('5@x')], 1); // 2 + 1 + 1 + 2 = 6 > 5: b goes
    expect(cache.items(H, 'b')).toBeUndefined();
    expect(cache.items(H, 'a')).toBeDefined();
    expect(cache.items(H, 'c')).toBeDefined();
    expect(cache.items(H, 'd')).toBeDefined();
    cache.keepPending(H, 'c', [{ jid: 'p@x', stanza: '' }]); // c grows to 2: a (least recent) goes
    expect(cache.items(H, 'a')).toBeUndefined();
    expect(cache.size).toBe(2);
  });

  test('a changed data_version drops everything; an unchanged one keeps it', () => {
    let version = 7;
    const cache = new RosterCache(() => version);
    cache.validate();
    cache.keepItems(H, 'a', [item('1@x')], 3);
    cache.validate();
    expect(cache.items(H, 'a')?.version).toBe(3);
    version = 8;
    cache.validate();
    expect(cache.items(H, 'a')).toBeUndefined();
  });
});
