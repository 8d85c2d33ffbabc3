// The SQLite schema as numbered steps. A step, once released, never changes: fix
// mistakes with a new step, because deployed databases have already run the old one.

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'user accounts',
    statements: [
      // credentials: the SCRAM record as JSON; created_at: milliseconds since the epoch.
      `CREATE TABLE users (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        credentials TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (host, username)
      ) WITHOUT ROWID`,
    ],
  },
  {
    version: 2,
    description: 'key/value store for modules',
    statements: [
      `CREATE TABLE module_kv (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (host, username, namespace, key)
      ) WITHOUT ROWID`,
    ],
  },
  {
    version: 3,
    description: 'rosters, pending subscription requests, roster versions',
    statements: [
      // subscription: none/to/from/both; ask, approved: 0/1; groups: JSON array of names.
      `CREATE TABLE roster_items (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        contact TEXT NOT NULL,
        name TEXT,
        subscription TEXT NOT NULL,
        ask INTEGER NOT NULL,
        approved INTEGER NOT NULL,
        groups TEXT NOT NULL,
        PRIMARY KEY (host, username, contact)
      ) WITHOUT ROWID`,
      `CREATE TABLE roster_pending (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        contact TEXT NOT NULL,
        stanza TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (host, username, contact)
      ) WITHOUT ROWID`,
      `CREATE TABLE roster_versions (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (host, username)
      ) WITHOUT ROWID`,
    ],
  },
  {
    version: 4,
    description: 'offline messages',
    statements: [
      // id orders messages by arrival; stored_at: milliseconds since the epoch.
      `CREATE TABLE offline_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        stanza TEXT NOT NULL,
        stored_at INTEGER NOT NULL
      )`,
      'CREATE INDEX offline_messages_user ON offline_messages (host, username, id)',
    ],
  },
  {
    version: 5,
    description: 'message archive (XEP-0313) and inbox',
    statements: [
      // One row per message per archive owner. AUTOINCREMENT: ids (shown to clients as
      // stanza-ids) are never reused, even after an archive is purged. direction: 0 in, 1 out;
      // ts: milliseconds since the epoch, never decreasing along id.
      `CREATE TABLE mam_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        with_jid TEXT NOT NULL,
        direction INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        stanza TEXT NOT NULL
      )`,
      'CREATE INDEX mam_messages_user ON mam_messages (host, username, id)',
      'CREATE INDEX mam_messages_user_with ON mam_messages (host, username, with_jid, id)',
      'CREATE INDEX mam_messages_user_ts ON mam_messages (host, username, ts, id)',
      // always_jids, never_jids: JSON arrays of bare JIDs.
      `CREATE TABLE mam_prefs (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        default_mode TEXT NOT NULL,
        always_jids TEXT NOT NULL,
        never_jids TEXT NOT NULL,
        PRIMARY KEY (host, username)
      ) WITHOUT ROWID`,
      // One row per conversation: the last message, unread count, box, mute deadline (ms, 0 = not muted).
      `CREATE TABLE inbox_entries (
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        remote TEXT NOT NULL,
        stanza TEXT NOT NULL,
        msg_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        unread INTEGER NOT NULL,
        box TEXT NOT NULL,
        muted_until INTEGER NOT NULL,
        PRIMARY KEY (host, username, remote)
      ) WITHOUT ROWID`,
      'CREATE INDEX inbox_entries_user_ts ON inbox_entries (host, username, ts)',
    ],
  },
];
