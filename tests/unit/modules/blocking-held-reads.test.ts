// mod_blocking with storage reads the test holds and answers, so the order of a list read, a
// stanza that waits for it, and a change made on another worker of the node (the
// 'blocklist_changed' notice) is exact: a cached list is dropped, a read under way when the
// notice came is repeated (it may predate the change), and a stanza that waited for one list
// is still judged by every list it needs.

import { expect, test } from 'bun:test';
import { modBlocking } from '../../../modules/mod_blocking.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import type { KeyValueEntry, Storage } from '../../../server/storage/storage.ts';
import { FakeSession, packet, testCore } from '../core/fakes.ts';

interface HeldRead {
  user: string;
  answer(keys: string[]): void;
}

async function worker() {
  const reads: HeldRead[] = [];
  const kv = {
    list: (_host: string, user: string) => new Promise<KeyValueEntry[]>((resolve) => {
      reads.push({ user, answer: (keys) => resolve(keys.map((key) => ({ key, value: '' }) as KeyValueEntry)) });
    }),
    get: async () => undefined,
    set: async () => {},
    delete: async () => true,
  };
  const { core } = testCore({ storage: { kv } as unknown as Storage, modules: [modBlocking as ModuleDefinition<unknown>] });
  await core.registry.start({ modules: { 'example.com': { mod_blocking: { value: {} } } } });
  const alice = new FakeSession('alice@example.com/phone');
  const mallory = new FakeSession('mallory@example.com/x');
  core.sessions.open(alice);
  core.sessions.open(mallory);
  // Both lists are being read (the sessions bound).
  expect(reads.map((r) => r.user)).toEqual(['alice', 'mallory']);
  return { core, reads, alice, mallory };
}

const settle = () => new Promise((r) => setTimeout(r, 1));
const fromMallory = (body: string) => packet(`<message from='mallory@example.com/x' to='alice@example.com/phone' type='chat'><body>${body}</body></message>`);

test('a read under way when another worker changes the list is repeated before anything is judged', async () => {
  const { core, reads, alice, mallory } = await worker();
  reads[1].answer([]);
  await settle();
  core.router.route(fromMallory('waits'));
  expect(alice.sent).toHaveLength(0);

  // Another worker blocked mallory for alice; this read may have started before.
  core.notices.receive('example.com', 'blocklist_changed', 'alice@example.com');
  reads[0].answer([]);
  await settle();
  expect(reads.map((r) => r.user)).toEqual(['alice', 'mallory', 'alice']);
  expect(alice.sent).toHaveLength(0);
  reads[2].answer(['mallory@example.com']);
  await settle();
  expect(alice.sent).toHaveLength(0);
  expect(mallory.sent.map((p) => p.type)).toEqual(['error']);
});

test('a cached list is dropped and read again when another worker changes it', async () => {
  const { core, reads, alice, mallory } = await worker();
  reads[0].answer([]);
  reads[1].answer([]);
  await settle();
  core.router.route(fromMallory('before'));
  expect(alice.sent).toHaveLength(1);

  core.notices.receive('example.com', 'blocklist_changed', 'alice@example.com');
  // alice is online here: read again at once, and what comes meanwhile waits for it.
  expect(reads.map((r) => r.user)).toEqual(['alice', 'mallory', 'alice']);
  core.router.route(fromMallory('after'));
  reads[2].answer(['mallory@example.com']);
  await settle();
  expect(alice.sent).toHaveLength(1);
  expect(mallory.sent.map((p) => p.type)).toEqual(['error']);

  // A notice about someone whose list is not cached here changes nothing.
  core.notices.receive('example.com', 'blocklist_changed', 'carol@example.com');
  expect(reads).toHaveLength(3);
});

test('a stanza that waited for the sender\'s list is still judged by the recipient\'s', async () => {
  const { core, reads, alice, mallory } = await worker();
  reads[0].answer(['mallory@example.com']);
  await settle();
  // mallory's own list is not known yet: her message waits in user_send_packet.
  core.router.routeFromSession(mallory, packet("<message from='mallory@example.com/x' to='alice@example.com/phone' type='chat'><body>let me in</body></message>"));
  reads[1].answer([]);
  await settle();
  expect(alice.sent).toHaveLength(0);
  expect(mallory.sent.map((p) => p.type)).toEqual(['error']);
});
