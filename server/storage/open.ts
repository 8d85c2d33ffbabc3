// Opens the configured storage backend.

import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { getRuntime } from '../runtime/index.ts';
import type { StorageConfig } from '../config/meerkat-schema.ts';
import type { Storage } from './storage.ts';
import type { SqlDriverFactory } from './sqlite/driver.ts';
import { createSqliteStorage } from './sqlite/storage.ts';

export interface OpenStorageOptions {
  /** Overrides the runtime's SQLite binding (tests, or a runtime without a built-in one). */
  sqliteDriver?: SqlDriverFactory;
}

export async function openStorage(config: StorageConfig, options: OpenStorageOptions = {}): Promise<Storage> {
  const { path, synchronous, busy_timeout } = config.sqlite;
  // 0700: the directory holds password hashes and, next to it, the dev TLS key.
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const factory = options.sqliteDriver ?? (await defaultSqliteDriver());
  const storage = createSqliteStorage(factory(path), { synchronous, busyTimeout: busy_timeout });
  // SQLite creates the file with the umask's mode; its -wal and -shm files copy this one's.
  await chmod(path, 0o600);
  return storage;
}

async function defaultSqliteDriver(): Promise<SqlDriverFactory> {
  const runtime = await getRuntime();
  if (runtime.name === 'bun') return (await import('./sqlite/driver-bun.ts')).openBunSqlite;
  return (await import('./sqlite/driver-deno.ts')).openNodeSqlite;
}
