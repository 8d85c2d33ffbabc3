// The MongooseIM 2.2 shape, against push: error replies that could feed back through the push
// extension until memory runs out. Each case floods 100,000 crafted stanzas through a real
// core and checks that the work stays bounded: at most one error per original stanza, the
// queues and pending tables stay under their bounds, heap growth stays flat, and the event is
// logged (rate limited) and counted. No timing assertions: sizes and counts only.

import { expect, test } from 'bun:test';
import { parseJid } from '../../../server/jid.ts';
import type { Packet } from '../../../server/core/packet.ts';
import { chat, enableIq, pushHarness, RemoteSink, type PushHarness } from './push-harness.ts';

const FLOOD = 100_000;
const WARMUP = 2000;
/** Stanzas each flood injects (the warm-up included: the census counts from before it). */
const INJECTED = FLOOD + WARMUP;
const ALICE = parseJid('alice@example.com');

interface Census {
  routed: number;
  errors: number;
  /** Most route() calls seen while handling one top-level stanza (synchronous part). */
  maxPerOriginal: number;
}

/** Counts every route() and error routed; the depth counter tells top-level stanzas apart. */
function census(h: PushHarness): Census {
  const c: Census = { routed: 0, errors: 0, maxPerOriginal: 0 };
  const router = h.core.router;
  const original = router.route.bind(router);
  let depth = 0;
  let thisOne = 0;
  router.route = (p: Packet) => {
    c.routed++;
    if (p.type === 'error') c.errors++;
    if (depth === 0) thisOne = 0;
    thisOne++;
    depth++;
    try {
      original(p);
    } finally {
      depth--;
      if (depth === 0) c.maxPerOriginal = Math.max(c.maxPerOriginal, thisOne);
    }
  };
  return c;
}

function heapUsed(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

/** Floods `make(i)` FLOOD times, yielding every 5,000 so async work (storage, answers) runs. Returns peak sizes. */
async function flood(h: PushHarness, make: (i: number) => string, between?: () => void): Promise<{ maxQueue: number; maxPending: number; heapGrowth: number }> {
  const publisher = h.state.push!.publisher;
  let maxQueue = 0;
  let maxPending = 0;
  // Warm up so the baseline includes steady-state caches (JIDs, prepared statements).
  for (let i = 0; i < WARMUP; i++) h.inject(make(-i - 1));
  await h.idle();
  const start = heapUsed();
  for (let i = 0; i < FLOOD; i++) {
    h.inject(make(i));
    if (i % 5000 === 4999) {
      maxQueue = Math.max(maxQueue, publisher.queueLength);
      maxPending = Math.max(maxPending, publisher.pendingCount);
      between?.();
      await h.idle();
    }
  }
  await h.idle();
  return { maxQueue, maxPending, heapGrowth: heapUsed() - start };
}

const HEAP_BOUND = 24 * 1024 * 1024;

async function aliceRegistered(h: PushHarness, jid: string, node: string): Promise<void> {
  const phone = h.connect('alice@example.com/phone');
  expect((await h.iq(phone, enableIq('e', jid, node))).attrs.type).toBe('result');
  h.core.sessions.remove(phone);
}

test('an app server that answers every publish with an error: one publish, one disable, one error per message', async () => {
  const h = await pushHarness({ mod_offline: { max_messages: 10 } });
  const remote = new RemoteSink(h);
  await aliceRegistered(h, 'push.app.example', 'n1');
  h.app.answer = 'item-not-found';
  h.app.keep = false;
  const c = census(h);
  const peak = await flood(h, (i) => `<message from='carol@remote.example/x' to='alice@example.com' type='chat' id='f${i}'><body>x${i}</body></message>`);
  const stats = h.state.push!.stats;
  expect(stats.published).toBe(1);
  expect(stats.disabled).toBe(1);
  expect(await h.state.push!.registrations(ALICE)).toEqual([]);
  expect(h.logs.filter((l) => l.what === 'push_registration_disabled')).toHaveLength(1);
  // Each message: stored or refused with one error to the sender; the app server's one error on top.
  expect(remote.errors).toBeLessThanOrEqual(INJECTED);
  expect(c.errors).toBeLessThanOrEqual(INJECTED + 1);
  expect(c.maxPerOriginal).toBeLessThanOrEqual(4);
  expect(peak.maxPending).toBeLessThanOrEqual(1);
  expect(peak.maxQueue).toBeLessThanOrEqual(10_000);
  expect(h.state.push!.publisher.pendingCount).toBe(0);
  expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
  expect(h.core.router.stats.hopLimitDrops).toBe(0);
}, 60_000);

test('the app server errors after a delay and the user keeps re-enabling: one publish in flight at a time, never more', async () => {
  const h = await pushHarness({ mod_offline: { max_messages: 10 } });
  new RemoteSink(h);
  // Bound but not available: messages to alice go the offline way, and her client can still send IQs.
  const phone = h.connect('alice@example.com/phone', { available: false });
  h.app.answer = 'not-authorized';
  h.app.deferred = true;
  h.app.keep = false;
  let queuedMax = 0;
  let enables = 0;
  const peak = await flood(h, (i) => chat(`x${i}`), () => {
    queuedMax = Math.max(queuedMax, h.app.queued);
    h.app.flush();
    // The registration went with the error: the client enables it again.
    h.send(phone, enableIq(`re${enables++}`, 'push.app.example', 'n1'));
  });
  expect(queuedMax).toBeLessThanOrEqual(1);
  expect(peak.maxPending).toBeLessThanOrEqual(1);
  expect(h.state.push!.stats.published).toBeLessThanOrEqual(enables + 1);
  expect(h.state.push!.stats.disabled).toBeLessThanOrEqual(enables + 1);
  expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
}, 60_000);

test('a push node that does not exist on the in-server service: item-not-found once, disabled, then silence', async () => {
  const h = await pushHarness({ mod_offline: { max_messages: 10 } });
  new RemoteSink(h);
  await aliceRegistered(h, 'pubsub.example.com', 'no-such-node');
  const c = census(h);
  const peak = await flood(h, (i) => chat(`x${i}`));
  expect(h.state.push!.stats).toMatchObject({ published: 1, errors: 1, disabled: 1 });
  expect(c.errors).toBeLessThanOrEqual(INJECTED + 1);
  expect(c.maxPerOriginal).toBeLessThanOrEqual(4);
  expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
}, 60_000);

test('errors and results addressed to the pushing user from remote and unknown domains: none answered, nothing kept', async () => {
  const h = await pushHarness();
  await aliceRegistered(h, 'push.app.example', 'n1');
  h.app.answer = 'silent';
  h.inject(chat('one real message'));
  await h.idle();
  const realId = h.app.publishes[0]!.attrs.id!;
  const prefix = realId.slice(0, realId.lastIndexOf('-') + 1);
  const c = census(h);
  const kinds = [
    // Our id, wrong sender: the forged answer to a real publish.
    () => `<iq type='error' id='${realId}' from='evil.unknown' to='alice@example.com'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    // Guessed ids in our format from the app server's domain.
    (i: number) => `<iq type='error' id='${prefix}${i.toString(36)}' from='push.app.example' to='alice@example.com'><error type='cancel'/></iq>`,
    (i: number) => `<iq type='result' id='${prefix}g${i}' from='x@remote.example/r' to='alice@example.com/phone'/>`,
    (i: number) => `<message type='error' id='m${i}' from='x@remote.example/r' to='alice@example.com'><error type='cancel'/></message>`,
    (i: number) => `<presence type='error' id='p${i}' from='x@nowhere.invalid' to='alice@example.com'><error type='cancel'/></presence>`,
    (i: number) => `<iq type='error' id='q${i}' from='x@nowhere.invalid' to='alice@example.com'><error type='cancel'/></iq>`,
  ];
  const peak = await flood(h, (i) => kinds[Math.abs(i) % kinds.length]!(Math.abs(i)));
  // Every stanza routed once and answered by nobody.
  expect(c.routed).toBe(INJECTED);
  expect(c.maxPerOriginal).toBe(1);
  expect(h.state.push!.publisher.pendingCount).toBe(1);
  expect(await h.state.push!.registrations(ALICE)).toHaveLength(1);
  expect(h.state.push!.stats.strayAnswers).toBeGreaterThan(INJECTED / 3);
  expect(h.logs.filter((l) => l.what === 'push_stray_answer').length).toBeLessThanOrEqual(2);
  expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
}, 60_000);

for (const deferred of [false, true]) {
  test(`an app server that echoes everything back ${deferred ? 'later' : 'at once'}: cut after one round, registration disabled`, async () => {
    const h = await pushHarness({ mod_offline: { max_messages: 10 } });
    new RemoteSink(h);
    await aliceRegistered(h, 'push.app.example', 'n1');
    h.app.answer = 'echo';
    h.app.deferred = deferred;
    h.app.keep = false;
    const c = census(h);
    let drained = 0;
    const peak = await flood(h, (i) => chat(`x${i}`), () => {
      // Everything the echo queued, and everything that provoked, until quiet: bounded.
      for (let rounds = 0; rounds < 10 && h.app.queued > 0; rounds++) drained += h.app.flush();
    });
    expect(h.app.queued).toBe(0);
    expect(drained).toBeLessThanOrEqual(deferred ? 4 : 0);
    expect(h.state.push!.stats.disabled).toBe(1);
    expect(h.state.push!.stats.published).toBe(1);
    expect(c.errors).toBeLessThanOrEqual(INJECTED + 2);
    expect(c.maxPerOriginal).toBeLessThanOrEqual(8);
    expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
  }, 60_000);
}

test('messages from the app server\'s own domain never trigger a push to it (a component answering with chat cannot loop)', async () => {
  const h = await pushHarness({ mod_offline: { max_messages: 10 } });
  await aliceRegistered(h, 'push.app.example', 'n1');
  h.app.keep = false;
  const peak = await flood(h, (i) => chat(`news ${i}`, `bot@push.app.example/${i % 7}`));
  expect(h.state.push!.stats.published).toBe(0);
  expect(h.state.push!.stats.skippedSelf).toBeGreaterThan(0);
  expect(peak.heapGrowth).toBeLessThan(HEAP_BOUND);
}, 60_000);
