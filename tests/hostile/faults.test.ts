// Faults with stream management on: the server process killed (SIGKILL) or stopped
// (SIGTERM) in the middle of a flood to an offline user. After a restart on the same data
// directory, every message the server had stored survives and arrives exactly once,
// none is both stored and bounced, and the SQLite file passes PRAGMA integrity_check.
// Messages never acknowledged (XEP-0198 <a h/>) are the client's to resend.

import { afterAll, describe, expect, test } from 'bun:test';
import { Database } from 'bun:sqlite';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './child-server.ts';
import { login, type HostileSocket } from './hostile-socket.ts';

const SM = 'urn:xmpp:sm:3';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started: ChildServer[] = [];
afterAll(async () => {
  for (const s of started) await s.cleanup().catch(() => {});
});

/** Alice floods offline bob, asking for an ack every 50 stanzas; returns the highest h seen so far, live. */
async function floodWithAcks(alice: HostileSocket, total: number, stopAt: () => boolean): Promise<{ sent: number; acked: () => number }> {
  alice.send(`<enable xmlns='${SM}'/>`);
  await alice.waitFor('<enabled');
  let sent = 0;
  const acked = () => {
    let h = 0;
    for (const m of alice.text.matchAll(/<a xmlns='urn:xmpp:sm:3' h='(\d+)'\/>/g)) h = Math.max(h, Number(m[1]));
    return h;
  };
  while (sent < total && !alice.closed && !stopAt()) {
    let batch = '';
    for (let i = 0; i < 50; i++) batch += `<message to='bob@localhost' type='chat' id='m${sent + i}'><body>n${sent + i}</body></message>`;
    sent += 50;
    alice.send(batch + `<r xmlns='${SM}'/>`);
    await sleep(2);
  }
  return { sent, acked };
}

/** Bob logs in, sends presence, and collects message ids until no new ones come for a while. */
async function collectOffline(srv: ChildServer): Promise<string[]> {
  const bob = await login(srv.tlsPort, srv.ca, 'bob', 'bob-pw', 'phone');
  bob.send('<presence/>');
  let last = -1;
  let ids: string[] = [];
  for (let quiet = 0; quiet < 5;) {
    await sleep(200);
    ids = [...bob.text.matchAll(/<message [^>]*id='(m\d+)'/g)].map((m) => m[1]!);
    if (ids.length === last) quiet++;
    else quiet = 0;
    last = ids.length;
  }
  bob.close();
  return ids;
}

function integrity(dataDir: string): string {
  const db = new Database(join(dataDir, 'meerkat.sqlite3'), { readonly: true });
  try {
    return (db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

async function restart(previous: ChildServer): Promise<ChildServer> {
  const next = await startChildServer({
    dataDir: previous.dataDir,
    ports: { c2s: previous.c2sPort, tls: previous.tlsPort },
    ca: previous.caMaterial,
  });
  started.push(next);
  return next;
}

describe('the server dies mid-flood', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`${signal}: every stored message is delivered once after restart, none is also bounced, and SQLite is intact`, async () => {
      const first = await startChildServer({ users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' } });
      started.push(first);
      const alice = await login(first.tlsPort, first.ca, 'alice', 'alice-pw', 'laptop');
      let killed = false;
      const flood = floodWithAcks(alice, 20_000, () => killed);
      // Let part of the flood be acknowledged, then stop the server under it.
      while (!alice.text.includes("h='500'") && !alice.closed) await sleep(10);
      await first.stop(signal);
      killed = true;
      const { acked } = await flood;
      const ackedCount = acked();
      expect(ackedCount).toBeGreaterThanOrEqual(500);
      if (signal === 'SIGTERM') expect(await first.exited).toBe(0);

      const second = await restart(first);
      const ids = await collectOffline(second);
      await second.stop();
      // Stored (mod_offline, delivered once after the restart) or bounced to alice (above
      // max_messages), never both.
      const delivered = new Set(ids);
      expect(ids.length).toBe(delivered.size);
      const bounced = new Set([...alice.text.matchAll(/<message [^>]*type='error'[^>]*>/g)]
        .map((m) => /id='(m\d+)'/.exec(m[0])?.[1]).filter((id): id is string => id !== undefined));
      for (const id of delivered) expect(bounced.has(id)).toBe(false);
      // Offline storage keeps its order: what survived is m0…m(n-1), at most the cap.
      const stored = [...delivered].map((id) => Number(id.slice(1))).sort((a, b) => a - b);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i));
      expect(stored.length).toBeLessThanOrEqual(100);
      expect(stored.length).toBeGreaterThan(0);
      // Every acknowledged message ended stored or bounced: the answer to <r/> waits until
      // what the acknowledged stanzas caused (mod_offline's store-or-bounce) is done.
      const lost = Array.from({ length: ackedCount }, (_, i) => `m${i}`).filter((id) => !delivered.has(id) && !bounced.has(id));
      expect(lost).toEqual([]);
      expect(integrity(first.dataDir)).toBe('ok');
    }, 60_000);
  }
});
