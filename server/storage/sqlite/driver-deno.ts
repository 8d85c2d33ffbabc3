// SqlDriver over node:sqlite (DatabaseSync), which Deno 2 provides. The only file of the
// storage layer that Deno needs instead of driver-bun.ts.

import { DatabaseSync } from 'node:sqlite';
import type { SqlDriver, SqlRow, SqlStatement, SqlValue } from './driver.ts';

export function openNodeSqlite(path: string): SqlDriver {
  const db = new DatabaseSync(path);
  let depth = 0;
  return {
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: (sql): SqlStatement => {
      const statement = db.prepare(sql);
      return {
        run: (...params) => ({ changes: Number(statement.run(...params).changes) }),
        get: (...params) => (statement.get(...params) as SqlRow | undefined) ?? undefined,
        all: (...params) => statement.all(...params) as SqlRow[],
      };
    },
    transaction: <T>(fn: () => T): T => {
      // Nested calls join the outer transaction, as bun:sqlite's transaction() does.
      if (depth > 0) return fn();
      db.exec('BEGIN IMMEDIATE');
      depth++;
      try {
        const result = fn();
        db.exec('COMMIT');
        return result;
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      } finally {
        depth--;
      }
    },
    close: () => db.close(),
  };
}

export type { SqlValue };
