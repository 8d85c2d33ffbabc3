// Brings a database to the newest schema, one step per transaction, recording each step
// in schema_version. Safe to run from two processes at once (server and meerkatctl):
// the version is re-read inside each write transaction.

import { StorageError } from '../storage.ts';
import type { SqlDriver } from './driver.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

export function currentVersion(db: SqlDriver): number {
  const row = db.prepare('SELECT COALESCE(MAX(version), 0) AS version FROM schema_version').get();
  return Number(row?.version ?? 0);
}

export function migrate(db: SqlDriver, migrations: readonly Migration[] = MIGRATIONS, upTo?: number): MigrationResult {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  const target = upTo ?? newest;
  const from = currentVersion(db);
  if (from > newest) {
    // Running an older Meerkat on a newer database could corrupt data it does not know.
    throw new StorageError(`database schema version ${from} is newer than this Meerkat supports (${newest})`);
  }
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)');
  for (const step of [...migrations].sort((a, b) => a.version - b.version)) {
    if (step.version > target) break;
    db.transaction(() => {
      if (currentVersion(db) >= step.version) return;
      for (const sql of step.statements) db.exec(sql);
      record.run(step.version, step.description, Date.now());
    });
  }
  return { from, to: currentVersion(db) };
}
