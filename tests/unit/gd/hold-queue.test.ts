// Hold queues: in order per recipient, retried until the recipient appears, then the local
// rules for "nowhere", an error for "Redis did not answer", and refusal beyond the bound.

import { expect, test } from 'bun:test';
import { HoldQueues, type Resolution } from '../../../modules/mod_global_distrib/hold-queue.ts';
import { Packet } from '../../../server/core/packet.ts';
import { xml } from '../../../server/xml/element.ts';

function message(n: number, to = 'alice@x'): Packet {
  return Packet.fromElement(xml('message', { from: 'bob@x/r', to, type: 'chat', id: `m${n}` }));
}

function harness(resolve: (p: Packet) => Resolution | Promise<Resolution>, opts: { maxRetries?: number; maxQueued?: number; here?: () => boolean } = {}) {
  const events: string[] = [];
  const q = new HoldQueues({
    resendAfterMs: 5,
    maxRetries: opts.maxRetries ?? 3,
    maxQueued: opts.maxQueued ?? 100,
    resolve,
    isHere: opts.here ?? (() => false),
    forward: (p, cluster, ttl) => events.push(`forward ${p.id} ${cluster} ${ttl}`),
    deliverHere: (p) => events.push(`local ${p.id}`),
    refuse: (p, why) => events.push(`refuse ${p.id} ${why}`),
  });
  return { q, events };
}

const settle = async (q: HoldQueues) => {
  for (let i = 0; i < 200 && q.size > 0; i++) await new Promise((r) => setTimeout(r, 5));
};

test('held messages are forwarded in order once the recipient appears', async () => {
  let lookups = 0;
  const { q, events } = harness(() => (++lookups < 3 ? { kind: 'nowhere' } : { kind: 'remote', cluster: 'dc2' }));
  for (let i = 0; i < 5; i++) q.enqueue('alice@x', message(i), 4);
  expect(q.size).toBe(5);
  await settle(q);
  expect(events).toEqual([0, 1, 2, 3, 4].map((i) => `forward m${i} dc2 4`));
});

test('after the retry budget a message nobody holds gets the local rules; without Redis, an error', async () => {
  const nowhere = harness(() => ({ kind: 'nowhere' }), { maxRetries: 2 });
  nowhere.q.enqueue('alice@x', message(1), 4);
  await settle(nowhere.q);
  expect(nowhere.events).toEqual(['local m1']);

  const down = harness(() => Promise.reject(new Error('timeout')), { maxRetries: 2 });
  down.q.enqueue('alice@x', message(2), 4);
  await settle(down.q);
  expect(down.events).toEqual(['refuse m2 routing-unavailable']);
});

test('presence is not held: with nobody holding the account it gets the local rules at once', async () => {
  let lookups = 0;
  const { q, events } = harness(() => {
    lookups++;
    return { kind: 'nowhere' };
  });
  q.enqueue('alice@x', Packet.fromElement(xml('presence', { from: 'bob@x/r', to: 'alice@x', id: 'p1' })), 4);
  await settle(q);
  expect(events).toEqual(['local p1']);
  expect(lookups).toBe(1);
});

test('a recipient who binds here while held gets the queue here, and wake() does not wait for the timer', async () => {
  let here = false;
  const { q, events } = harness(() => ({ kind: 'nowhere' }), { maxRetries: 1000, here: () => here });
  q.enqueue('alice@x', message(1), 4);
  q.enqueue('alice@x', message(2), 4);
  await new Promise((r) => setTimeout(r, 20));
  expect(events).toEqual([]);
  here = true;
  q.wake('alice@x');
  await settle(q);
  expect(events).toEqual(['local m1', 'local m2']);
});

test('beyond max_queued a message is refused at once; stop() answers everything held', async () => {
  const { q, events } = harness(() => ({ kind: 'nowhere' }), { maxQueued: 2, maxRetries: 1000 });
  q.enqueue('a@x', message(1, 'a@x'), 4);
  q.enqueue('b@x', message(2, 'b@x'), 4);
  q.enqueue('c@x', message(3, 'c@x'), 4);
  expect(events).toEqual(['refuse m3 queue-full']);
  q.stop();
  await settle(q);
  expect(events.slice(1).sort()).toEqual(['local m1', 'local m2']);
  expect(q.size).toBe(0);
});
