// Archive bench: fills one user's archive with N messages (bulk insert, default 1,000,000)
// in a file-backed SQLite database (WAL, synchronous=NORMAL, as the server runs it), then
// times the queries a client makes, and the per-message commit the routing path pays.
//
//   bun bench/mam/run.ts [rows]
//
// Every query checks the number of messages it got back.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBunSqlite } from '../../server/storage/sqlite/driver-bun.ts';
import { createSqliteStorage } from '../../server/storage/sqlite/storage.ts';
import type { ArchiveQuery } from '../../server/storage/mam.ts';
import { xml } from '../../server/xml/element.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const HOST = 'example.com';
const CONTACTS = 100;
const dir = await mkdtemp(join(tmpdir(), 'meerkat-bench-mam-'));
const path = join(dir, 'bench.sqlite');
const storage = createSqliteStorage(openBunSqlite(path), { synchronous: 'normal', busyTimeout: 1000 });

// ── fill: one transaction per 50,000 rows, timestamps one second apart ───────────────
const fillDb = openBunSqlite(path);
const insert = fillDb.prepare('INSERT INTO mam_messages (host, username, with_jid, direction, ts, stanza) VALUES (?, ?, ?, ?, ?, ?)');
const t0Ms = Date.now() - ROWS * 1000;
const fillStart = performance.now();
for (let start = 0; start < ROWS; start += 50_000) {
  fillDb.transaction(() => {
    for (let i = start; i < Math.min(ROWS, start + 50_000); i++) {
      const contact = `contact${i % CONTACTS}@remote.example`;
      const stanza = `<message xmlns="jabber:client" from="${contact}/r" to="bob@${HOST}" type="chat" id="m${i}"><body>message number ${i}</body></message>`;
      insert.run(HOST, 'bob', contact, i & 1, t0Ms + i * 1000, stanza);
    }
  });
}
const fillMs = performance.now() - fillStart;
fillDb.close();
console.log(`fill: ${ROWS} rows in ${(fillMs / 1000).toFixed(1)} s (${Math.round(ROWS / (fillMs / 1000))} rows/s)`);

async function time(name: string, q: ArchiveQuery, expected: number): Promise<void> {
  const runs = 200;
  await storage.archive.query(HOST, 'bob', q); // warm the statement and the page cache
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    const page = await storage.archive.query(HOST, 'bob', q);
    samples.push(performance.now() - s);
    if (page.messages.length !== expected) throw new Error(`${name}: ${page.messages.length} messages, expected ${expected}`);
  }
  samples.sort((a, b) => a - b);
  const p50 = samples[Math.floor(runs / 2)];
  const p99 = samples[Math.floor(runs * 0.99)];
  console.log(`${name.padEnd(42)} p50 ${p50.toFixed(3)} ms   p99 ${p99.toFixed(3)} ms`);
}

const mid = t0Ms + Math.floor(ROWS / 2) * 1000;
await time('latest page (<before/>, max 50)', { max: 50, fromEnd: true }, 50);
await time('first page (max 50)', { max: 50 }, 50);
await time('page by with (max 50)', { max: 50, with: 'contact7@remote.example' }, 50);
await time('last page by with (<before/>, max 50)', { max: 50, with: 'contact7@remote.example', fromEnd: true }, 50);
await time('time range start..end (1 h window, max 50)', { max: 50, start: mid, end: mid + 3_600_000 }, 50);
await time('with + time range (max 50)', { max: 50, with: 'contact7@remote.example', start: mid, end: mid + 100 * 3_600_000 }, 50);
await time('after an id deep in the archive (max 50)', { max: 50, after: Math.floor(ROWS * 0.9) }, 50);
await time('ids filter (10 ids)', { max: 50, ids: Array.from({ length: 10 }, (_, i) => 1 + i * 997) }, 10);

// ── the routing path: one committed transaction per archived message ──────────────────
const writes = 20_000;
const stanza = xml('message', { xmlns: 'jabber:client', from: 'alice@example.com/a', to: 'bob@example.com', type: 'chat', id: 'x' }, xml('body', null, 'hello there')).toString();
let s = performance.now();
for (let i = 0; i < writes; i++) storage.archive.appendSync([{ host: HOST, user: 'alice', with: 'bob@example.com', direction: 'out', stanza }]);
let perMessage = (performance.now() - s) / writes;
console.log(`appendSync, 1 row per commit:   ${(perMessage * 1000).toFixed(1)} µs per commit (${Math.round(1000 / perMessage)} commits/s)`);
s = performance.now();
for (let i = 0; i < writes / 10; i++) {
  storage.archive.appendSync(Array.from({ length: 10 }, () => ({ host: HOST, user: 'alice', with: 'bob@example.com', direction: 'out' as const, stanza })));
}
perMessage = (performance.now() - s) / writes;
console.log(`appendSync, 10 rows per commit: ${(perMessage * 1000).toFixed(1)} µs per row`);

await storage.close();
await rm(dir, { recursive: true, force: true });
