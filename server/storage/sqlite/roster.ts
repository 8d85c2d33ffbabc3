// RosterStore on SQLite (tables from migration 3), with the recently read rosters kept in
// memory (roster-cache.ts: what keeps them correct is written there).

import type { PendingRequest, RosterItem, RosterStore, Subscription } from '../roster.ts';
import type { SqlDriver, SqlRow } from './driver.ts';
import { RosterCache } from './roster-cache.ts';

export interface SqliteRosterStore extends RosterStore {
  /** The account's rows were deleted by another statement of this connection (account removal). */
  forgetUser(host: string, user: string): void;
}

export function createSqliteRosterStore(db: SqlDriver, open: () => void): SqliteRosterStore {
  const sql = {
    // One statement, so the version describes exactly these items without a transaction
    // (a transaction here would take the write lock): one row with NULL columns when the
    // roster is empty, version NULL when it never changed.
    itemsAndVersion: db.prepare(
      `SELECT v.version AS version, i.contact AS contact, i.name AS name, i.subscription AS subscription, i.ask AS ask,
         i.approved AS approved, i.groups AS groups
       FROM (SELECT ? AS host, ? AS username) AS k
       LEFT JOIN roster_versions AS v ON v.host = k.host AND v.username = k.username
       LEFT JOIN roster_items AS i ON i.host = k.host AND i.username = k.username
       ORDER BY i.contact`),
    item: db.prepare('SELECT contact, name, subscription, ask, approved, groups FROM roster_items WHERE host = ? AND username = ? AND contact = ?'),
    put: db.prepare(
      `INSERT INTO roster_items (host, username, contact, name, subscription, ask, approved, groups) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (host, username, contact) DO UPDATE SET name = excluded.name, subscription = excluded.subscription,
         ask = excluded.ask, approved = excluded.approved, groups = excluded.groups`),
    remove: db.prepare('DELETE FROM roster_items WHERE host = ? AND username = ? AND contact = ?'),
    version: db.prepare('SELECT version FROM roster_versions WHERE host = ? AND username = ?'),
    bump: db.prepare(
      `INSERT INTO roster_versions (host, username, version) VALUES (?, ?, 1)
       ON CONFLICT (host, username) DO UPDATE SET version = version + 1 RETURNING version`),
    pending: db.prepare('SELECT contact, stanza FROM roster_pending WHERE host = ? AND username = ? ORDER BY received_at, contact'),
    onePending: db.prepare('SELECT contact, stanza FROM roster_pending WHERE host = ? AND username = ? AND contact = ?'),
    setPending: db.prepare(
      `INSERT INTO roster_pending (host, username, contact, stanza, received_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (host, username, contact) DO UPDATE SET stanza = excluded.stanza`),
    removePending: db.prepare('DELETE FROM roster_pending WHERE host = ? AND username = ? AND contact = ?'),
    dataVersion: db.prepare('PRAGMA data_version'),
  };

  const version = (host: string, user: string): number => Number(sql.version.get(host, user)?.version ?? 0);
  const bump = (host: string, user: string): number => Number(sql.bump.get(host, user)?.version ?? 0);
  const cache = new RosterCache(() => Number(sql.dataVersion.get()?.data_version ?? 0));

  /** Items and version, from memory or read (and kept); `cache.validate()` ran first. */
  const itemsAndVersion = (host: string, user: string): { items: readonly RosterItem[]; version: number } => {
    const kept = cache.items(host, user);
    if (kept !== undefined) return kept;
    const rows = sql.itemsAndVersion.all(host, user);
    const items = rows.filter((row) => row.contact !== null).map(toItem);
    const read = { items, version: Number(rows[0]?.version ?? 0) };
    cache.keepItems(host, user, items, read.version);
    return read;
  };

  const pendingOf = (host: string, user: string): readonly PendingRequest[] => {
    const kept = cache.pending(host, user);
    if (kept !== undefined) return kept;
    const pending = sql.pending.all(host, user).map(toPending);
    cache.keepPending(host, user, pending);
    return pending;
  };

  return {
    async get(host, user) {
      open();
      cache.validate();
      const { items, version } = itemsAndVersion(host, user);
      return { items: [...items], version };
    },
    async getItem(host, user, contact) {
      open();
      cache.validate();
      const kept = cache.items(host, user);
      if (kept !== undefined) return kept.items.find((item) => item.jid === contact);
      const row = sql.item.get(host, user, contact);
      return row ? toItem(row) : undefined;
    },
    async put(host, user, item) {
      open();
      cache.forget(host, user);
      return db.transaction(() => {
        sql.put.run(host, user, item.jid, item.name ?? null, item.subscription, item.ask ? 1 : 0, item.approved ? 1 : 0, JSON.stringify(item.groups));
        return bump(host, user);
      });
    },
    async remove(host, user, contact) {
      open();
      cache.forget(host, user);
      return db.transaction(() => (sql.remove.run(host, user, contact).changes === 1 ? bump(host, user) : undefined));
    },
    async version(host, user) {
      open();
      cache.validate();
      return cache.items(host, user)?.version ?? version(host, user);
    },
    async pending(host, user) {
      open();
      cache.validate();
      return [...pendingOf(host, user)];
    },
    async getPending(host, user, contact) {
      open();
      cache.validate();
      const kept = cache.pending(host, user);
      if (kept !== undefined) return kept.find((request) => request.jid === contact);
      const row = sql.onePending.get(host, user, contact);
      return row ? toPending(row) : undefined;
    },
    async setPending(host, user, request) {
      open();
      cache.forget(host, user);
      sql.setPending.run(host, user, request.jid, request.stanza, Date.now());
    },
    async removePending(host, user, contact) {
      open();
      cache.forget(host, user);
      return sql.removePending.run(host, user, contact).changes === 1;
    },
    forgetUser(host, user) {
      cache.forget(host, user);
    },
  };
}

const SUBSCRIPTIONS: ReadonlySet<string> = new Set(['none', 'to', 'from', 'both']);

function toItem(row: SqlRow): RosterItem {
  const sub = String(row.subscription);
  const groups = JSON.parse(String(row.groups)) as unknown;
  return {
    jid: String(row.contact),
    name: row.name === null ? undefined : String(row.name),
    subscription: (SUBSCRIPTIONS.has(sub) ? sub : 'none') as Subscription,
    ask: Number(row.ask) === 1,
    approved: Number(row.approved) === 1,
    groups: Array.isArray(groups) ? groups.map(String) : [],
  };
}

function toPending(row: SqlRow): PendingRequest {
  return { jid: String(row.contact), stanza: String(row.stanza) };
}
