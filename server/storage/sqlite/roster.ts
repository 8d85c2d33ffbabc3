// RosterStore on SQLite (tables from migration 3).

import type { PendingRequest, RosterItem, RosterStore, Subscription } from '../roster.ts';
import type { SqlDriver, SqlRow } from './driver.ts';

export function createSqliteRosterStore(db: SqlDriver, open: () => void): RosterStore {
  const sql = {
    items: db.prepare('SELECT contact, name, subscription, ask, approved, groups FROM roster_items WHERE host = ? AND username = ? ORDER BY contact'),
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
  };

  const version = (host: string, user: string): number => Number(sql.version.get(host, user)?.version ?? 0);
  const bump = (host: string, user: string): number => Number(sql.bump.get(host, user)?.version ?? 0);

  return {
    async get(host, user) {
      open();
      // One transaction: the version must describe exactly these items.
      return db.transaction(() => ({ items: sql.items.all(host, user).map(toItem), version: version(host, user) }));
    },
    async getItem(host, user, contact) {
      open();
      const row = sql.item.get(host, user, contact);
      return row ? toItem(row) : undefined;
    },
    async put(host, user, item) {
      open();
      return db.transaction(() => {
        sql.put.run(host, user, item.jid, item.name ?? null, item.subscription, item.ask ? 1 : 0, item.approved ? 1 : 0, JSON.stringify(item.groups));
        return bump(host, user);
      });
    },
    async remove(host, user, contact) {
      open();
      return db.transaction(() => (sql.remove.run(host, user, contact).changes === 1 ? bump(host, user) : undefined));
    },
    async version(host, user) {
      open();
      return version(host, user);
    },
    async pending(host, user) {
      open();
      return sql.pending.all(host, user).map(toPending);
    },
    async getPending(host, user, contact) {
      open();
      const row = sql.onePending.get(host, user, contact);
      return row ? toPending(row) : undefined;
    },
    async setPending(host, user, request) {
      open();
      sql.setPending.run(host, user, request.jid, request.stanza, Date.now());
    },
    async removePending(host, user, contact) {
      open();
      return sql.removePending.run(host, user, contact).changes === 1;
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
