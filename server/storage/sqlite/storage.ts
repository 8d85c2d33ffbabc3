// Storage on one SQLite file.
//
// Durability: journal_mode=WAL with synchronous=NORMAL by default. A transaction is in
// the WAL file (the operating system's page cache) when its commit returns, so it
// survives the server process being killed; only an operating-system crash or power
// loss can lose the last transactions, and never corrupts the database. Operators who
// need acknowledged writes to survive power loss set synchronous = "full", which adds an
// fsync of the WAL to every commit.

import { StorageError, type KeyValueEntry, type KeyValueStore, type ListOptions, type Storage, type StoredCredentials, type UserRecord, type UserStore } from '../storage.ts';
import type { SqlDriver, SqlRow } from './driver.ts';
import { migrate } from './migrate.ts';
import { createSqliteRosterStore } from './roster.ts';
import { createSqliteOfflineStore } from './offline.ts';
import { createSqliteArchiveStore } from './mam.ts';
import { createSqliteInboxStore } from './inbox.ts';

export interface SqliteOptions {
  synchronous: 'normal' | 'full';
  /** Milliseconds a writer waits for another process's lock before failing. */
  busyTimeout: number;
}

export function createSqliteStorage(db: SqlDriver, options: SqliteOptions): Storage {
  try {
    // busy_timeout first: switching to WAL and migrating may wait for another process.
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeout))}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }

  const sql = {
    createUser: db.prepare(
      'INSERT INTO users (host, username, credentials, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    getUser: db.prepare('SELECT host, username, credentials, created_at FROM users WHERE host = ? AND username = ?'),
    setCredentials: db.prepare('UPDATE users SET credentials = ? WHERE host = ? AND username = ?'),
    removeUser: db.prepare('DELETE FROM users WHERE host = ? AND username = ?'),
    removeUserData: db.prepare('DELETE FROM module_kv WHERE host = ? AND username = ?'),
    removeUserRoster: db.prepare('DELETE FROM roster_items WHERE host = ? AND username = ?'),
    removeUserPending: db.prepare('DELETE FROM roster_pending WHERE host = ? AND username = ?'),
    removeUserRosterVersion: db.prepare('DELETE FROM roster_versions WHERE host = ? AND username = ?'),
    removeUserOffline: db.prepare('DELETE FROM offline_messages WHERE host = ? AND username = ?'),
    removeUserArchive: db.prepare('DELETE FROM mam_messages WHERE host = ? AND username = ?'),
    removeUserArchivePrefs: db.prepare('DELETE FROM mam_prefs WHERE host = ? AND username = ?'),
    removeUserInbox: db.prepare('DELETE FROM inbox_entries WHERE host = ? AND username = ?'),
    listUsers: db.prepare('SELECT username FROM users WHERE host = ? ORDER BY username LIMIT ? OFFSET ?'),
    countUsers: db.prepare('SELECT COUNT(*) AS n FROM users WHERE host = ?'),
    kvGet: db.prepare('SELECT value FROM module_kv WHERE host = ? AND username = ? AND namespace = ? AND key = ?'),
    kvSet: db.prepare(
      `INSERT INTO module_kv (host, username, namespace, key, value, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (host, username, namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
    kvDelete: db.prepare('DELETE FROM module_kv WHERE host = ? AND username = ? AND namespace = ? AND key = ?'),
    kvList: db.prepare('SELECT key, value FROM module_kv WHERE host = ? AND username = ? AND namespace = ? ORDER BY key'),
  };

  let closed = false;
  // Every method checks first: a statement on a closed database would fail less clearly.
  const open = (): void => {
    if (closed) throw new StorageError('storage is closed');
  };

  const roster = createSqliteRosterStore(db, open);

  const users: UserStore = {
    async create(host, username, credentials) {
      open();
      return sql.createUser.run(host, username, JSON.stringify(credentials), Date.now()).changes === 1;
    },
    async get(host, username) {
      open();
      const row = sql.getUser.get(host, username);
      return row ? toUserRecord(row) : undefined;
    },
    async setCredentials(host, username, credentials) {
      open();
      return sql.setCredentials.run(JSON.stringify(credentials), host, username).changes === 1;
    },
    async remove(host, username) {
      open();
      roster.forgetUser(host, username);
      return db.transaction(() => {
        sql.removeUserData.run(host, username);
        sql.removeUserRoster.run(host, username);
        sql.removeUserPending.run(host, username);
        sql.removeUserRosterVersion.run(host, username);
        sql.removeUserOffline.run(host, username);
        sql.removeUserArchive.run(host, username);
        sql.removeUserArchivePrefs.run(host, username);
        sql.removeUserInbox.run(host, username);
        return sql.removeUser.run(host, username).changes === 1;
      });
    },
    async list(host, options: ListOptions = {}) {
      open();
      // LIMIT -1 is SQLite for "no limit".
      const rows = sql.listUsers.all(host, options.limit ?? -1, options.offset ?? 0);
      return rows.map((row) => String(row.username));
    },
    async count(host) {
      open();
      return Number(sql.countUsers.get(host)?.n ?? 0);
    },
    existsSync(host, username) {
      // After close the answer is "no such account": routing then treats it as unknown.
      if (closed) return false;
      return sql.getUser.get(host, username) !== undefined;
    },
  };

  const kv: KeyValueStore = {
    async get(host, user, namespace, key) {
      open();
      const row = sql.kvGet.get(host, user, namespace, key);
      return row ? String(row.value) : undefined;
    },
    async set(host, user, namespace, key, value) {
      open();
      sql.kvSet.run(host, user, namespace, key, value, Date.now());
    },
    async delete(host, user, namespace, key) {
      open();
      return sql.kvDelete.run(host, user, namespace, key).changes === 1;
    },
    async list(host, user, namespace): Promise<KeyValueEntry[]> {
      open();
      return sql.kvList.all(host, user, namespace).map((row) => ({ key: String(row.key), value: String(row.value) }));
    },
  };

  return {
    users,
    kv,
    roster,
    offline: createSqliteOfflineStore(db, open),
    archive: createSqliteArchiveStore(db, open),
    inbox: createSqliteInboxStore(db, open),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function toUserRecord(row: SqlRow): UserRecord {
  return {
    host: String(row.host),
    username: String(row.username),
    credentials: JSON.parse(String(row.credentials)) as StoredCredentials,
    createdAt: new Date(Number(row.created_at)),
  };
}
