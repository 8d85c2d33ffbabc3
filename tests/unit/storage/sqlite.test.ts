import { afterEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageConfig } from '../../../server/config/meerkat-schema.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { migrate, currentVersion } from '../../../server/storage/sqlite/migrate.ts';
import { MIGRATIONS } from '../../../server/storage/sqlite/migrations.ts';
import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import type { SqlDriver } from '../../../server/storage/sqlite/driver.ts';
import { StorageError, type Storage, type StoredCredentials } from '../../../server/storage/storage.ts';

const dirs: string[] = [];
const opened: Storage[] = [];

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-storage-'));
  dirs.push(dir);
  return join(dir, 'data', 'meerkat.sqlite3');
}

function config(path: string): StorageConfig {
  return { backend: 'sqlite', sqlite: { path, synchronous: 'normal', busy_timeout: 5000 } };
}

async function open(path: string): Promise<Storage> {
  const storage = await openStorage(config(path));
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const creds = (tag: string): StoredCredentials => ({
  'SHA-256': { salt: btoa(tag), iterations: 4096, storedKey: btoa(`stored-${tag}`), serverKey: btoa(`server-${tag}`) },
});

describe('users', () => {
  test('create, get, conflict', async () => {
    const storage = await open(tempDb());
    expect(await storage.users.create('a.example', 'alice', creds('1'))).toBe(true);
    expect(await storage.users.create('a.example', 'alice', creds('2'))).toBe(false);
    const alice = await storage.users.get('a.example', 'alice');
    expect(alice?.credentials).toEqual(creds('1'));
    expect(alice?.host).toBe('a.example');
    expect(alice?.username).toBe('alice');
    expect(Math.abs(alice!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await storage.users.get('a.example', 'bob')).toBeUndefined();
    // The same name on another host is another account.
    expect(await storage.users.get('b.example', 'alice')).toBeUndefined();
    expect(await storage.users.create('b.example', 'alice', creds('3'))).toBe(true);
  });

  test('usernames are stored as given', async () => {
    const storage = await open(tempDb());
    await storage.users.create('a.example', 'Ælfred', creds('x'));
    expect(await storage.users.get('a.example', 'Ælfred')).toBeDefined();
    expect(await storage.users.get('a.example', 'ælfred')).toBeUndefined();
  });

  test('setCredentials and remove', async () => {
    const storage = await open(tempDb());
    await storage.users.create('a.example', 'alice', creds('1'));
    expect(await storage.users.setCredentials('a.example', 'alice', creds('new'))).toBe(true);
    expect((await storage.users.get('a.example', 'alice'))?.credentials).toEqual(creds('new'));
    expect(await storage.users.setCredentials('a.example', 'nobody', creds('new'))).toBe(false);
    expect(await storage.users.remove('a.example', 'alice')).toBe(true);
    expect(await storage.users.remove('a.example', 'alice')).toBe(false);
    expect(await storage.users.get('a.example', 'alice')).toBeUndefined();
  });

  test('list in order with limit and offset, and count', async () => {
    const storage = await open(tempDb());
    for (const name of ['carol', 'alice', 'dave', 'bob']) await storage.users.create('a.example', name, creds(name));
    await storage.users.create('b.example', 'erin', creds('erin'));
    expect(await storage.users.list('a.example')).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(await storage.users.list('a.example', { limit: 2 })).toEqual(['alice', 'bob']);
    expect(await storage.users.list('a.example', { limit: 2, offset: 2 })).toEqual(['carol', 'dave']);
    expect(await storage.users.list('a.example', { offset: 3 })).toEqual(['dave']);
    expect(await storage.users.count('a.example')).toBe(4);
    expect(await storage.users.count('b.example')).toBe(1);
    expect(await storage.users.count('c.example')).toBe(0);
  });
});

describe('module key/value store', () => {
  test('set, overwrite, get, list, delete', async () => {
    const storage = await open(tempDb());
    const { kv } = storage;
    await kv.set('a.example', 'alice', 'jabber:iq:private', 'storage:bookmarks', '<storage/>');
    await kv.set('a.example', 'alice', 'jabber:iq:private', 'a:first', '<a/>');
    await kv.set('a.example', 'alice', 'jabber:iq:private', 'storage:bookmarks', '<storage><x/></storage>');
    await kv.set('a.example', 'bob', 'jabber:iq:private', 'a:first', '<bob/>');
    await kv.set('a.example', '', 'vcard', 'server', 'host-wide');
    expect(await kv.get('a.example', 'alice', 'jabber:iq:private', 'storage:bookmarks')).toBe('<storage><x/></storage>');
    expect(await kv.get('a.example', 'alice', 'vcard', 'storage:bookmarks')).toBeUndefined();
    expect(await kv.list('a.example', 'alice', 'jabber:iq:private')).toEqual([
      { key: 'a:first', value: '<a/>' },
      { key: 'storage:bookmarks', value: '<storage><x/></storage>' },
    ]);
    expect(await kv.get('a.example', '', 'vcard', 'server')).toBe('host-wide');
    expect(await kv.delete('a.example', 'alice', 'jabber:iq:private', 'a:first')).toBe(true);
    expect(await kv.delete('a.example', 'alice', 'jabber:iq:private', 'a:first')).toBe(false);
  });

  test("removing an account removes its module data and nobody else's", async () => {
    const storage = await open(tempDb());
    await storage.users.create('a.example', 'alice', creds('1'));
    await storage.kv.set('a.example', 'alice', 'ns', 'k', 'alice-data');
    await storage.kv.set('a.example', 'bob', 'ns', 'k', 'bob-data');
    await storage.kv.set('b.example', 'alice', 'ns', 'k', 'other-host');
    await storage.users.remove('a.example', 'alice');
    expect(await storage.kv.get('a.example', 'alice', 'ns', 'k')).toBeUndefined();
    expect(await storage.kv.get('a.example', 'bob', 'ns', 'k')).toBe('bob-data');
    expect(await storage.kv.get('b.example', 'alice', 'ns', 'k')).toBe('other-host');
  });
});

describe('the database file', () => {
  test('data survives closing and reopening', async () => {
    const path = tempDb();
    const first = await open(path);
    await first.users.create('a.example', 'alice', creds('1'));
    await first.kv.set('a.example', 'alice', 'ns', 'k', 'v');
    await first.close();
    await expect(first.users.get('a.example', 'alice')).rejects.toThrow('storage is closed');
    const second = await open(path);
    expect((await second.users.get('a.example', 'alice'))?.credentials).toEqual(creds('1'));
    expect(await second.kv.get('a.example', 'alice', 'ns', 'k')).toBe('v');
  });

  for (const [synchronous, level] of [['normal', 1], ['full', 2]] as const) {
    test(`the connection runs with synchronous=${synchronous} and the busy timeout`, async () => {
      let driver: SqlDriver | undefined;
      const storage = await openStorage(
        { backend: 'sqlite', sqlite: { path: tempDb(), synchronous, busy_timeout: 1234 } },
        { sqliteDriver: (path) => (driver = openBunSqlite(path)) },
      );
      opened.push(storage);
      expect(driver!.prepare('PRAGMA synchronous').get()?.synchronous).toBe(level);
      expect(driver!.prepare('PRAGMA busy_timeout').get()?.timeout).toBe(1234);
    });
  }

  test('WAL mode and a private file in a private directory', async () => {
    const path = tempDb();
    const storage = await open(path);
    await storage.close();
    const db = openBunSqlite(path);
    expect(db.prepare('PRAGMA journal_mode').get()?.journal_mode).toBe('wal');
    db.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
  });

  test('an acknowledged write survives the process being killed', async () => {
    const path = tempDb();
    // A child process writes, reports, and is then killed with SIGKILL: no close, no checkpoint.
    const script = `
      import { openStorage } from ${JSON.stringify(join(import.meta.dir, '../../../server/storage/open.ts'))};
      const storage = await openStorage({ backend: 'sqlite', sqlite: { path: ${JSON.stringify(path)}, synchronous: 'normal', busy_timeout: 5000 } });
      await storage.users.create('a.example', 'alice', { 'SHA-1': { salt: 'c2FsdA==', iterations: 4096, storedKey: 'a2V5', serverKey: 'a2V5' } });
      await storage.kv.set('a.example', 'alice', 'ns', 'k', 'written');
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `;
    const child = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'inherit' });
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe('written\n');
    child.kill('SIGKILL');
    await child.exited;
    expect(child.signalCode).toBe('SIGKILL');
    const storage = await open(path);
    expect(await storage.users.get('a.example', 'alice')).toBeDefined();
    expect(await storage.kv.get('a.example', 'alice', 'ns', 'k')).toBe('written');
  });
});

describe('migrations', () => {
  test('a fresh database gets every step, recorded in schema_version', async () => {
    const path = tempDb();
    const storage = await open(path);
    await storage.close();
    const db = openBunSqlite(path);
    const rows = db.prepare('SELECT version, description FROM schema_version ORDER BY version').all();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(currentVersion(db)).toBe(MIGRATIONS.length);
    // Running again changes nothing.
    expect(migrate(db)).toEqual({ from: MIGRATIONS.length, to: MIGRATIONS.length });
    db.close();
  });

  test('an old database is brought forward with its data', async () => {
    const path = tempDb();
    await openStorage(config(path)).then((s) => s.close()); // creates the directory
    rmSync(path);
    const old = openBunSqlite(path);
    expect(migrate(old, MIGRATIONS, 1)).toEqual({ from: 0, to: 1 });
    old.prepare('INSERT INTO users (host, username, credentials, created_at) VALUES (?, ?, ?, ?)')
      .run('a.example', 'alice', JSON.stringify(creds('old')), 1_700_000_000_000);
    expect(() => old.prepare('SELECT * FROM module_kv').all()).toThrow();
    old.close();

    const storage = await open(path);
    const alice = await storage.users.get('a.example', 'alice');
    expect(alice?.credentials).toEqual(creds('old'));
    expect(alice?.createdAt.getTime()).toBe(1_700_000_000_000);
    await storage.kv.set('a.example', 'alice', 'ns', 'k', 'new table works');
    expect(await storage.kv.get('a.example', 'alice', 'ns', 'k')).toBe('new table works');
  });

  test('a failing step is rolled back and not recorded', () => {
    const path = tempDb().replace('/data/', '/');
    const db = openBunSqlite(path);
    const broken = [...MIGRATIONS, { version: 99, description: 'broken', statements: ['CREATE TABLE t99 (x)', 'NOT SQL'] }];
    expect(() => migrate(db, broken)).toThrow();
    expect(currentVersion(db)).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't99'").get()).toBeUndefined();
    db.close();
  });

  test('a database from a newer Meerkat is refused', async () => {
    const path = tempDb();
    await open(path).then((s) => s.close());
    const db = openBunSqlite(path);
    db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(1000, 'future', 0);
    db.close();
    const attempt = openStorage(config(path));
    await expect(attempt).rejects.toThrow(StorageError);
    await expect(attempt).rejects.toThrow(`database schema version 1000 is newer than this Meerkat supports (${MIGRATIONS.length})`);
  });
});
