// Per-account features on a node with [general] workers = 2, started as a process: alice has
// a resource on each worker (the kernel spreads connections; a client on the wrong worker
// logs in again), and what one of them does or receives reaches the other as it would
// within one process: roster pushes, received and sent carbons, block-list pushes, and the
// block itself on the worker that did not handle it, and presence answers for resources
// on both workers. Which worker took a session is read
// from the workers' log lines (every line names its worker).

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { freePort } from '../../helpers/ports.ts';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import { b64, ScramClient, unb64 } from '../c2s/scram-client.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const PASSWORD = 'secret';

let dir: string;
let port: number;
let node: ChildProcess;
let output = '';

interface Client {
  raw: RawClient;
  jid: string;
  worker: number;
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function workerOf(jid: string): number | undefined {
  let found: number | undefined;
  for (const line of output.split('\n')) {
    if (!line.includes('"c2s_session_bound"') || !line.includes(`"jid":"${jid}"`)) continue;
    found = (JSON.parse(line) as { worker: number }).worker;
  }
  return found;
}

async function login(user: string, resource: string, priority: number, sendPresence = true): Promise<Client> {
  const raw = await RawClient.connect(port);
  raw.send(STREAM_OPEN());
  await raw.waitFor('</stream:features>');
  const scram = new ScramClient({ hash: 'SHA-1', username: user, password: PASSWORD });
  raw.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>${b64(scram.first())}</auth>`);
  const challenge = /<challenge[^>]*>([^<]*)<\/challenge>/.exec(await raw.waitFor('</challenge>'))![1];
  raw.send(`<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${b64(scram.final(unb64(challenge)))}</response>`);
  await raw.waitFor('<success');
  raw.clear();
  raw.send(STREAM_OPEN());
  await raw.waitFor('</stream:features>');
  raw.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
  await raw.waitFor('</jid>');
  const jid = `${user}@localhost/${resource}`;
  if (sendPresence) raw.send(`<presence><priority>${priority}</priority></presence>`);
  raw.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
  await raw.waitFor("id='sync'");
  raw.clear();
  await until(`${jid} bound in the log`, () => workerOf(jid) !== undefined);
  return { raw, jid, worker: workerOf(jid)! };
}

/** Logs in until the session lands on `worker` (others are closed again). */
async function loginOn(worker: number, user: string, resource: string, priority: number): Promise<Client> {
  for (let i = 0; i < 40; i++) {
    const c = await login(user, `${resource}${i === 0 ? '' : `-${i}`}`, priority);
    if (c.worker === worker) return c;
    c.raw.close();
  }
  throw new Error(`${user} never landed on worker ${worker}`);
}

async function iq(c: Client, id: string, xml: string): Promise<void> {
  c.raw.send(xml);
  await c.raw.waitFor(new RegExp(`<iq[^>]*id='${id}'[^>]*type='result'|<iq[^>]*type='result'[^>]*id='${id}'`));
}

/**
 * Waits until each worker has the other's sessions: a headline from a client on one worker
 * to one on the other travels on the same ordered link after the session announcements.
 * Headlines to a resource not (yet) known are ignored (RFC 6121), so retries leave nothing.
 */
let barriers = 0;
async function barrier(a: Client, b: Client): Promise<void> {
  for (;;) {
    const n = ++barriers;
    a.raw.send(`<message type='headline' to='${b.jid}'><subject>barrier-${n}</subject></message>`);
    b.raw.send(`<message type='headline' to='${a.jid}'><subject>barrier-${n}</subject></message>`);
    try {
      await b.raw.waitFor(`barrier-${n}<`, 500);
      await a.raw.waitFor(`barrier-${n}<`, 500);
      return;
    } catch {
      if (n > 40) throw new Error('the workers never saw each other\'s sessions');
    }
  }
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
  dir = await mkdtemp(join(tmpdir(), 'meerkat-workers-account-'));
  port = await freePort();
  const toml = `[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(join(dir, 'data'))}
workers = 2

[[listen.c2s]]
port = ${port}
ip_address = "127.0.0.1"
tls = "none"
`;
  const path = join(dir, 'meerkat.toml');
  await writeFile(path, toml);
  const storage = await openStorage(parseConfig(toml, path, {}, { baseDir: dir }).storage);
  const credentials = await deriveCredentials(PASSWORD, { iterations: 4096, hashes: ['SHA-1'] });
  for (const u of ['alice', 'bob', 'mallory']) await storage.users.create('localhost', u, credentials);
  await storage.close();
  node = spawn(process.execPath, [join(ROOT, 'server/main.ts'), '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  node.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  node.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  await until('the node is running', () => output.includes('Meerkat is running'), 30_000);

  a0 = await loginOn(0, 'alice', 'a0', 5);
  a1 = await loginOn(1, 'alice', 'a1', 5);
  low = await login('alice', 'low', 1);
  bob = await login('bob', 'b', 0);
  mallory = await loginOn(1, 'mallory', 'm', 0);
  // Each of alice's resources fetches the roster and the block list and enables carbons:
  // state kept by the worker holding the session.
  for (const [i, c] of [a0, a1, low].entries()) {
    await iq(c, `roster${i}`, `<iq type='get' id='roster${i}'><query xmlns='jabber:iq:roster'/></iq>`);
    await iq(c, `blocklist${i}`, `<iq type='get' id='blocklist${i}'><blocklist xmlns='urn:xmpp:blocking'/></iq>`);
    await iq(c, `carbons${i}`, `<iq type='set' id='carbons${i}'><enable xmlns='urn:xmpp:carbons:2'/></iq>`);
  }
  await barrier(a0, a1);
  for (const c of [a0, a1, low, bob, mallory]) c.raw.clear();
}, 90_000);

afterAll(async () => {
  for (const c of [a0, a1, low, bob, mallory]) c?.raw.close();
  if (node.exitCode === null && node.signalCode === null) {
    const exited = new Promise((resolve) => node.once('exit', resolve));
    node.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
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
  const bob2 = await login('bob', 'b2', 0, false);
  try {
    bob2.raw.send('<presence/>');
    for (const c of [a0, a1, low]) await bob2.raw.waitFor(`from='${c.jid}'`);
    expect(bob2.raw.received).not.toContain("from='alice@localhost' to='bob@localhost/b2' type='unavailable'");
  } finally {
    bob2.raw.close();
  }
}, 20_000);
