// OfflineStore on SQLite (table from migration 4).

import type { OfflineStore } from '../offline.ts';
import type { SqlDriver } from './driver.ts';

export function createSqliteOfflineStore(db: SqlDriver, open: () => void): OfflineStore {
  const sql = {
    count: db.prepare('SELECT COUNT(*) AS n FROM offline_messages WHERE host = ? AND username = ?'),
    insert: db.prepare('INSERT INTO offline_messages (host, username, stanza, stored_at) VALUES (?, ?, ?, ?)'),
    all: db.prepare('SELECT stanza, stored_at FROM offline_messages WHERE host = ? AND username = ? ORDER BY id'),
    any: db.prepare('SELECT 1 AS found FROM offline_messages WHERE host = ? AND username = ? LIMIT 1'),
    clear: db.prepare('DELETE FROM offline_messages WHERE host = ? AND username = ?'),
  };
  const count = (host: string, user: string): number => Number(sql.count.get(host, user)?.n ?? 0);

  return {
    async push(host, user, stanza, limit) {
      open();
      // Count and insert in one write transaction, so two writers cannot both pass the limit.
      return db.transaction(() => {
        if (count(host, user) >= limit) return false;
        sql.insert.run(host, user, stanza, Date.now());
        return true;
      });
    },
    async popAll(host, user) {
      open();
      // Every initial presence asks, and nearly always there is nothing: a plain read then,
      // without the write transaction (and the write lock other workers wait for). A message
      // stored right after this read is in the queue as if it had come after the pop.
      if (sql.any.get(host, user) === undefined) return [];
      return db.transaction(() => {
        const rows = sql.all.all(host, user);
        if (rows.length > 0) sql.clear.run(host, user);
        return rows.map((row) => ({ stanza: String(row.stanza), storedAt: new Date(Number(row.stored_at)) }));
      });
    },
    async count(host, user) {
      open();
      return count(host, user);
    },
  };
}
