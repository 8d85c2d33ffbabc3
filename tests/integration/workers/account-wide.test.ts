// Per-account features on a node with [general] workers = 2, started as a process: alice has
// a resource on each worker (the kernel spreads connections; a client on the wrong worker
// logs in again), and what one of them does or receives reaches the other as it would
// within one process: roster pushes, received and sent carbons, block-list pushes, and the
// block itself on the worker that did not handle it, and presence answers for resources
// on both workers. Which worker took a session is read
// from the workers' log lines (every line names its worker).

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { TwoWorkerNode, type Client } from './two-worker-node.ts';

let node: TwoWorkerNode;

/** Logs in until the session lands on `worker` (others are closed again). */
async function loginOn(worker: number, user: string, resource: string, priority: number): Promise<Client> {
  for (let i = 0; i < 40; i++) {
    const c = await node.login(user, `${resource}${i === 0 ? '' : `-${i}`}`, priority);
    if (c.worker === worker) return c;
    c.raw.close();
  }
  throw new Error(`${user} never landed on worker ${worker}`);
}

async function iq(c: Client, id: string, xml: string): Promise<void> {
  c.raw.send(xml);
  await c.raw.waitFor(new RegExp(`<iq[^>]*id='${id}'[^>]*type='result'|<iq[^>]*type='result'[^>]*id='${id}'`));
}

function count(c: Client, text: string): number {
  return c.raw.received.split(text).length - 1;
}

let a0: Client; // alice on worker 0
let a1: Client; // alice on worker 1
let low: Client; // alice, lower priority, carbons enabled
let bob: Client;
let mallory: Client; // on worker 1

beforeAll(async () => {
  node = await TwoWorkerNode.start(['alice', 'bob', 'mallory']);

  a0 = await loginOn(0, 'alice', 'a0', 5);
  a1 = await loginOn(1, 'alice', 'a1', 5);
  low = await node.login('alice', 'low', 1);
  bob = await node.login('bob', 'b', 0);
  mallory = await loginOn(1, 'mallory', 'm', 0);
  // Each of alice's resources fetches the roster and the block list and enables carbons:
  // state kept by the worker holding the session.
  for (const [i, c] of [a0, a1, low].entries()) {
    await iq(c, `roster${i}`, `<iq type='get' id='roster${i}'><query xmlns='jabber:iq:roster'/></iq>`);
    await iq(c, `blocklist${i}`, `<iq type='get' id='blocklist${i}'><blocklist xmlns='urn:xmpp:blocking'/></iq>`);
    await iq(c, `carbons${i}`, `<iq type='set' id='carbons${i}'><enable xmlns='urn:xmpp:carbons:2'/></iq>`);
  }
  await node.barrier(a0, a1);
  for (const c of [a0, a1, low, bob, mallory]) c.raw.clear();
}, 90_000);

afterAll(async () => {
  for (const c of [a0, a1, low, bob, mallory]) c?.raw.close();
  await node?.stop();
});

function clearAll(): void {
  for (const c of [a0, a1, low, bob, mallory]) c.raw.clear();
}

test('a roster set on one worker is pushed to the interested resources on both', async () => {
  clearAll();
  await iq(a0, 'set1', "<iq type='set' id='set1'><query xmlns='jabber:iq:roster'><item jid='carol@localhost' name='Carol'/></query></iq>");
  await a1.raw.waitFor("jid='carol@localhost'");
  expect(a1.raw.received).toContain(`to='${a1.jid}'`);
  expect(a1.raw.received).toContain("name='Carol'");
  await low.raw.waitFor("jid='carol@localhost'");
  await a0.raw.waitFor("jid='carol@localhost'");

  // And the other way round.
  await iq(a1, 'set2', "<iq type='set' id='set2'><query xmlns='jabber:iq:roster'><item jid='dave@localhost' name='Dave'/></query></iq>");
  await a0.raw.waitFor("jid='dave@localhost'");
  expect(a0.raw.received).toContain(`to='${a0.jid}'`);
  expect(count(a0, "jid='dave@localhost'")).toBe(1);
}, 20_000);

test('a message to a full JID on one worker is carboned to the resources on both; so is one alice sends', async () => {
  clearAll();
  const [here, there] = bob.worker === 0 ? [a1, a0] : [a0, a1];
  // bob's message goes to a resource on the other worker; the carbon comes back.
  bob.raw.send(`<message type='chat' id='c1' to='${here.jid}'><body>to-one-resource</body></message>`);
  await here.raw.waitFor('to-one-resource');
  await there.raw.waitFor('to-one-resource');
  expect(there.raw.received).toContain("<received xmlns='urn:xmpp:carbons:2'>");
  expect(there.raw.received).toContain(`to='${there.jid}'`);
  await low.raw.waitFor('to-one-resource');
  expect(here.raw.received).not.toContain('urn:xmpp:carbons:2');

  // Sent carbons: a0 writes to bob, a1 sees it.
  a0.raw.send("<message type='chat' id='c2' to='bob@localhost/b'><body>from-a0</body></message>");
  await bob.raw.waitFor('from-a0');
  await a1.raw.waitFor('from-a0');
  expect(a1.raw.received).toContain("<sent xmlns='urn:xmpp:carbons:2'>");
  await low.raw.waitFor('from-a0');
  expect(count(a0, 'from-a0')).toBe(0);
}, 20_000);

test('a bare-JID message delivered on both workers is carboned once, to the resource that did not get it', async () => {
  clearAll();
  bob.raw.send("<message type='chat' id='c3' to='alice@localhost'><body>to-the-bare-jid</body></message>");
  await a0.raw.waitFor('to-the-bare-jid');
  await a1.raw.waitFor('to-the-bare-jid');
  await low.raw.waitFor('to-the-bare-jid');
  // Each worker has delivered its copy; a headline from each of the two direct recipients to
  // low travels behind anything that copy caused on its worker.
  a0.raw.send(`<message type='headline' to='${low.jid}'><subject>after-0</subject></message>`);
  a1.raw.send(`<message type='headline' to='${low.jid}'><subject>after-1</subject></message>`);
  await low.raw.waitFor('after-0');
  await low.raw.waitFor('after-1');
  expect(count(low, '<body>to-the-bare-jid</body>')).toBe(1);
  expect(low.raw.received).toContain("<received xmlns='urn:xmpp:carbons:2'>");
  expect(count(a0, '<body>to-the-bare-jid</body>')).toBe(1);
  expect(count(a1, '<body>to-the-bare-jid</body>')).toBe(1);
  expect(a0.raw.received).not.toContain('urn:xmpp:carbons:2');
  expect(a1.raw.received).not.toContain('urn:xmpp:carbons:2');
}, 20_000);

test('a block on worker 0 is pushed to worker 1 and enforced there', async () => {
  clearAll();
  // Worker 1 has alice's (empty) list cached since a1 bound: mallory gets through.
  mallory.raw.send(`<message type='chat' id='m1' to='${a1.jid}'><body>before-the-block</body></message>`);
  await a1.raw.waitFor('before-the-block');

  await iq(a0, 'block1', "<iq type='set' id='block1'><block xmlns='urn:xmpp:blocking'><item jid='mallory@localhost'/></block></iq>");
  await a1.raw.waitFor("<block xmlns='urn:xmpp:blocking'>");
  expect(a1.raw.received).toContain("jid='mallory@localhost'");
  await low.raw.waitFor("<block xmlns='urn:xmpp:blocking'>");

  // The notice went before the push on the same link: worker 1 judges with the new list.
  mallory.raw.send(`<message type='chat' id='m2' to='${a1.jid}'><body>after-the-block</body></message>`);
  await mallory.raw.waitFor(/<message[^>]*type='error'/);
  expect(mallory.raw.received).toContain('service-unavailable');
  mallory.raw.send("<iq type='get' id='sync-m'><ping xmlns='urn:xmpp:ping'/></iq>");
  await mallory.raw.waitFor("id='sync-m'");
  expect(a1.raw.received).not.toContain('after-the-block');
  expect(a0.raw.received).not.toContain('after-the-block');
}, 20_000);

test('a new subscriber and a probe get the presence of the resources on both workers', async () => {
  clearAll();
  bob.raw.send("<presence type='subscribe' to='alice@localhost'/>");
  // The request reaches alice's available resources on both workers, as addressed.
  await a0.raw.waitFor("type='subscribe'");
  await a1.raw.waitFor("type='subscribe'");
  expect(a1.raw.received).toContain("to='alice@localhost'");
  a0.raw.send("<presence type='subscribed' to='bob@localhost'/>");
  // §3.1.5: the new subscriber gets alice's current presence, from every resource.
  for (const c of [a0, a1, low]) await bob.raw.waitFor(`from='${c.jid}'`);
  expect(bob.raw.received).not.toContain("type='unavailable'");

  // A second resource of bob comes online: its probe is answered for every resource of alice.
  const bob2 = await node.login('bob', 'b2', 0, false);
  try {
    bob2.raw.send('<presence/>');
    for (const c of [a0, a1, low]) await bob2.raw.waitFor(`from='${c.jid}'`);
    expect(bob2.raw.received).not.toContain("from='alice@localhost' to='bob@localhost/b2' type='unavailable'");
  } finally {
    bob2.raw.close();
  }
}, 20_000);
