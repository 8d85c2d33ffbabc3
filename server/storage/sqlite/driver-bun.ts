// SqlDriver over bun:sqlite. The only file of the storage layer that imports Bun.

import { Database } from 'bun:sqlite';
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from './driver.ts';

export function openBunSqlite(path: string): SqlDriver {
  // strict: a missing parameter is an error rather than a silent NULL.
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  return {
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: (sql): SqlStatement => {
      const statement = db.prepare<SqlRow, SqlValue[]>(sql);
      return {
        run: (...params) => ({ changes: statement.run(...params).changes }),
        get: (...params) => statement.get(...params) ?? undefined,
        all: (...params) => statement.all(...params),
      };
    },
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
