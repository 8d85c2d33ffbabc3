// ArchiveStore on SQLite (tables from migration 5).
//
// Queries stay fast on large archives because every page is a walk along an index in id
// order that stops after max+1 rows:
//   - (host, username, id)            the latest page, RSM after/before;
//   - (host, username, with_jid, id)  a conversation with one contact;
//   - (host, username, ts, id)        start/end, turned into id bounds first: ids and
//     timestamps grow together (the store never hands out a timestamp older than the last
//     one), so "ts >= start" is "id >= the first id at or after start".

import type { ArchiveDirection, ArchiveMode, ArchivePrefs, ArchiveQuery, ArchiveStore, ArchivedMessage } from '../mam.ts';
import type { SqlDriver, SqlRow, SqlStatement } from './driver.ts';

const MODES: ReadonlySet<string> = new Set(['always', 'never', 'roster']);

export function createSqliteArchiveStore(db: SqlDriver, open: () => void): ArchiveStore {
  const sql = {
    insert: db.prepare('INSERT INTO mam_messages (host, username, with_jid, direction, ts, stanza) VALUES (?, ?, ?, ?, ?, ?) RETURNING id'),
    lastTs: db.prepare('SELECT MAX(ts) AS ts FROM mam_messages'),
    firstAtOrAfter: db.prepare('SELECT id FROM mam_messages WHERE host = ? AND username = ? AND ts >= ? ORDER BY ts, id LIMIT 1'),
    lastAtOrBefore: db.prepare('SELECT id FROM mam_messages WHERE host = ? AND username = ? AND ts <= ? ORDER BY ts DESC, id DESC LIMIT 1'),
    has: db.prepare('SELECT 1 AS found FROM mam_messages WHERE id = ? AND host = ? AND username = ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM mam_messages WHERE host = ? AND username = ?'),
    removeMessages: db.prepare('DELETE FROM mam_messages WHERE host = ? AND username = ?'),
    removePrefs: db.prepare('DELETE FROM mam_prefs WHERE host = ? AND username = ?'),
    getPrefs: db.prepare('SELECT default_mode, always_jids, never_jids FROM mam_prefs WHERE host = ? AND username = ?'),
    setPrefs: db.prepare(
      `INSERT INTO mam_prefs (host, username, default_mode, always_jids, never_jids) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (host, username) DO UPDATE SET default_mode = excluded.default_mode,
         always_jids = excluded.always_jids, never_jids = excluded.never_jids`),
    inRoster: db.prepare(
      `SELECT 1 AS found FROM roster_items WHERE host = ? AND username = ? AND contact = ? AND subscription != 'none'`),
  };
  // Page queries differ only in which conditions are present: one prepared statement per shape.
  const pageStatements = new Map<string, SqlStatement>();
  let lastTs = Number(sql.lastTs.get()?.ts ?? 0);

  const pageStatement = (q: ArchiveQuery, bounds: { low?: number; high?: number }): { stmt: SqlStatement; params: Array<string | number> } => {
    const where = ['host = ?', 'username = ?'];
    const params: Array<string | number> = [];
    if (q.with !== undefined) { where.push('with_jid = ?'); params.push(q.with); }
    if (bounds.low !== undefined) { where.push('id >= ?'); params.push(bounds.low); }
    if (bounds.high !== undefined) { where.push('id <= ?'); params.push(bounds.high); }
    if (q.after !== undefined) { where.push('id > ?'); params.push(q.after); }
    if (q.before !== undefined) { where.push('id < ?'); params.push(q.before); }
    if (q.ids !== undefined) { where.push('id IN (SELECT value FROM json_each(?))'); params.push(JSON.stringify(q.ids)); }
    const text = `SELECT id, with_jid, direction, ts, stanza FROM mam_messages WHERE ${where.join(' AND ')}
      ORDER BY id ${q.fromEnd ? 'DESC' : 'ASC'} LIMIT ?`;
    let stmt = pageStatements.get(text);
    if (stmt === undefined) pageStatements.set(text, (stmt = db.prepare(text)));
    return { stmt, params };
  };

  return {
    appendSync(entries) {
      open();
      if (entries.length === 0) return [];
      return db.transaction(() => {
        // Never older than the last one: keeps id order and time order the same (see top).
        const ts = (lastTs = Math.max(lastTs, Date.now()));
        return entries.map((e) => Number(sql.insert.get(e.host, e.user, e.with, e.direction === 'in' ? 0 : 1, ts, e.stanza)!.id));
      });
    },
    async query(host, user, q) {
      open();
      const bounds: { low?: number; high?: number } = {};
      if (q.start !== undefined) {
        const row = sql.firstAtOrAfter.get(host, user, q.start);
        if (row === undefined) return { messages: [], complete: true };
        bounds.low = Number(row.id);
      }
      if (q.end !== undefined) {
        const row = sql.lastAtOrBefore.get(host, user, q.end);
        if (row === undefined) return { messages: [], complete: true };
        bounds.high = Number(row.id);
      }
      const { stmt, params } = pageStatement(q, bounds);
      const rows = stmt.all(host, user, ...params, q.max + 1);
      const complete = rows.length <= q.max;
      const page = rows.slice(0, q.max).map(toMessage);
      if (q.fromEnd) page.reverse();
      return { messages: page, complete };
    },
    async has(host, user, id) {
      open();
      return sql.has.get(id, host, user) !== undefined;
    },
    async count(host, user) {
      open();
      return Number(sql.count.get(host, user)?.n ?? 0);
    },
    async removeUser(host, user) {
      open();
      db.transaction(() => {
        sql.removeMessages.run(host, user);
        sql.removePrefs.run(host, user);
      });
    },
    prefsSync(host, user) {
      open();
      const row = sql.getPrefs.get(host, user);
      if (row === undefined) return undefined;
      const mode = String(row.default_mode);
      return {
        defaultMode: (MODES.has(mode) ? mode : 'always') as ArchiveMode,
        always: JSON.parse(String(row.always_jids)) as string[],
        never: JSON.parse(String(row.never_jids)) as string[],
      };
    },
    async setPrefs(host, user, prefs: ArchivePrefs) {
      open();
      sql.setPrefs.run(host, user, prefs.defaultMode, JSON.stringify(prefs.always), JSON.stringify(prefs.never));
    },
    inRosterSync(host, user, contact) {
      open();
      return sql.inRoster.get(host, user, contact) !== undefined;
    },
  };
}

function toMessage(row: SqlRow): ArchivedMessage {
  return {
    id: Number(row.id),
    with: String(row.with_jid),
    direction: (Number(row.direction) === 0 ? 'in' : 'out') as ArchiveDirection,
    timestamp: Number(row.ts),
    stanza: String(row.stanza),
  };
}
