// The few SQLite operations Meerkat needs, so the runtime-specific binding (bun:sqlite
// today, node:sqlite on Deno later) is one small file behind this interface.

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlRow = Record<string, SqlValue>;

export interface SqlStatement {
  run(...params: SqlValue[]): { changes: number };
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

export interface SqlDriver {
  /** Runs one or more statements without parameters (DDL, pragmas). */
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  /**
   * Runs `fn` in a write transaction (BEGIN IMMEDIATE: the write lock is taken up front,
   * so busy_timeout applies instead of a deadlock on lock upgrade), committing when it
   * returns and rolling back when it throws. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export type SqlDriverFactory = (path: string) => SqlDriver;
