// Offline messages at initial presence: nearly always there are none, and finding that out
// must not take the write lock (other worker processes may be writing).

import { afterEach, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import type { Storage } from '../../../server/storage/storage.ts';

const H = 'example.com';
const dirs: string[] = [];
const opened: Storage[] = [];

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-offline-pop-'));
  dirs.push(dir);
  return join(dir, 'meerkat.sqlite3');
}

test('an empty queue is answered without the write lock; a full one is popped once', async () => {
  const file = tempFile();
  const mine = createSqliteStorage(openBunSqlite(file), { synchronous: 'normal', busyTimeout: 0 });
  opened.push(mine);
  const other = openBunSqlite(file);
  try {
    // Another worker in the middle of a write: a write transaction here would fail at once
    // (busy_timeout 0), a plain read does not.
    other.exec('BEGIN IMMEDIATE');
    expect(await mine.offline.popAll(H, 'alice')).toEqual([]);
    other.exec('ROLLBACK');
    expect(await mine.offline.push(H, 'alice', '<message/>', 10)).toBe(true);
    expect((await mine.offline.popAll(H, 'alice')).map((m) => m.stanza)).toEqual(['<message/>']);
    expect(await mine.offline.popAll(H, 'alice')).toEqual([]);
  } finally {
    other.close();
  }
});
