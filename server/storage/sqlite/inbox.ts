// InboxStore on SQLite (table from migration 5): one row per (user, conversation), keyed so
// an update is one upsert and a query walks (host, username, ts).

import type { InboxEntry, InboxStore } from '../inbox.ts';
import type { SqlDriver, SqlRow, SqlStatement } from './driver.ts';

export function createSqliteInboxStore(db: SqlDriver, open: () => void): InboxStore {
  const sql = {
    upsert: db.prepare(
      `INSERT INTO inbox_entries (host, username, remote, stanza, msg_id, ts, unread, box, muted_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'inbox', 0)
       ON CONFLICT (host, username, remote) DO UPDATE SET
         stanza = excluded.stanza, msg_id = excluded.msg_id, ts = excluded.ts,
         unread = CASE WHEN excluded.unread = 0 THEN 0 ELSE inbox_entries.unread + 1 END,
         box = CASE WHEN inbox_entries.box = 'archive' THEN 'inbox' ELSE inbox_entries.box END`),
    displayed: db.prepare('UPDATE inbox_entries SET unread = 0 WHERE host = ? AND username = ? AND remote = ? AND msg_id = ? AND msg_id != \'\''),
    get: db.prepare('SELECT * FROM inbox_entries WHERE host = ? AND username = ? AND remote = ?'),
    setBox: db.prepare('UPDATE inbox_entries SET box = ? WHERE host = ? AND username = ? AND remote = ?'),
    setUnread: db.prepare('UPDATE inbox_entries SET unread = ? WHERE host = ? AND username = ? AND remote = ?'),
    markUnread: db.prepare('UPDATE inbox_entries SET unread = MAX(unread, 1) WHERE host = ? AND username = ? AND remote = ?'),
    setMuted: db.prepare('UPDATE inbox_entries SET muted_until = ? WHERE host = ? AND username = ? AND remote = ?'),
    remove: db.prepare('DELETE FROM inbox_entries WHERE host = ? AND username = ?'),
  };
  const statements = new Map<string, SqlStatement>();
  const prepared = (text: string): SqlStatement => {
    let stmt = statements.get(text);
    if (stmt === undefined) statements.set(text, (stmt = db.prepare(text)));
    return stmt;
  };

  return {
    async update(updates) {
      open();
      db.transaction(() => {
        for (const u of updates) sql.upsert.run(u.host, u.user, u.remote, u.stanza, u.messageId, u.timestamp, u.unread === 'reset' ? 0 : 1);
      });
    },
    async markDisplayed(host, user, remote, messageId) {
      open();
      return sql.displayed.run(host, user, remote, messageId).changes === 1;
    },
    async query(host, user, q) {
      open();
      const where = ['host = ?', 'username = ?'];
      const params: Array<string | number> = [host, user];
      if (q.start !== undefined) { where.push('ts >= ?'); params.push(q.start); }
      if (q.end !== undefined) { where.push('ts <= ?'); params.push(q.end); }
      if (q.box !== undefined) { where.push('box = ?'); params.push(q.box); }
      if (q.unreadOnly) where.push('unread > 0');
      const cond = where.join(' AND ');
      const totals = prepared(`SELECT COUNT(*) AS n, COALESCE(SUM(unread), 0) AS unread, COALESCE(SUM(unread > 0), 0) AS active FROM inbox_entries WHERE ${cond}`).get(...params);
      const rows = prepared(`SELECT * FROM inbox_entries WHERE ${cond} ORDER BY ts ${q.order === 'asc' ? 'ASC' : 'DESC'}, remote LIMIT ?`).all(...params, q.max ?? -1);
      return {
        entries: rows.map(toEntry),
        totals: { count: Number(totals?.n ?? 0), unreadMessages: Number(totals?.unread ?? 0), activeConversations: Number(totals?.active ?? 0) },
      };
    },
    async get(host, user, remote) {
      open();
      const row = sql.get.get(host, user, remote);
      return row === undefined ? undefined : toEntry(row);
    },
    async setProperties(host, user, remote, props) {
      open();
      return db.transaction(() => {
        if (sql.get.get(host, user, remote) === undefined) return false;
        if (props.box !== undefined) sql.setBox.run(props.box, host, user, remote);
        if (props.unread === 'at-least-one') sql.markUnread.run(host, user, remote);
        else if (props.unread !== undefined) sql.setUnread.run(props.unread, host, user, remote);
        if (props.mutedUntil !== undefined) sql.setMuted.run(props.mutedUntil, host, user, remote);
        return true;
      });
    },
    async removeUser(host, user) {
      open();
      sql.remove.run(host, user);
    },
  };
}

function toEntry(row: SqlRow): InboxEntry {
  return {
    remote: String(row.remote),
    stanza: String(row.stanza),
    messageId: String(row.msg_id),
    timestamp: Number(row.ts),
    unread: Number(row.unread),
    box: String(row.box),
    mutedUntil: Number(row.muted_until),
  };
}
