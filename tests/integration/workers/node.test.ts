// A node with [general] workers = 2 started as a process (`bun server/main.ts`): the
// supervisor, two workers on one c2s port. Clients log in with SCRAM-SHA-1 over plain TCP
// on loopback; which worker took
// each session is read from the workers' log lines (every line names its worker).

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
const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
const PASSWORD = 'secret';

let dir: string;
let port: number;
let node: ChildProcess;
let output = '';
let exited: Promise<number | null>;

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

/** The worker that logged c2s_session_bound for this JID (the last time). */
function workerOf(jid: string): number | undefined {
  let found: number | undefined;
  for (const line of output.split('\n')) {
    if (!line.includes('"c2s_session_bound"') || !line.includes(`"jid":"${jid}"`)) continue;
    found = (JSON.parse(line) as { worker: number }).worker;
  }
  return found;
}

async function login(user: string, resource: string, priority = 0): Promise<Client> {
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
  raw.send(`<presence><priority>${priority}</priority></presence>`);
  raw.send("<iq type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>");
  await raw.waitFor("id='sync'");
  raw.clear();
  await until(`${jid} bound in the log`, () => workerOf(jid) !== undefined);
  return { raw, jid, worker: workerOf(jid)! };
}

/**
 * Waits until every session announcement sent so far has reached the other worker. The
 * directory is updated asynchronously (as in any cluster); a headline from a client on one
 * worker to one on the other travels on the same ordered link after those announcements.
 * Headlines to a resource that is not found are ignored (RFC 6121), so retries leave nothing
 * behind, and they carry no <body/>.
 */
let barriers = 0;
async function barrier(clients: Client[]): Promise<void> {
  const a = clients.find((c) => c.worker === 0)!;
  const b = clients.find((c) => c.worker === 1)!;
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

function bodiesFrom(c: Client): string[] {
  return [...c.raw.received.matchAll(/<body>([^<]*)<\/body>/g)].map((m) => m[1]);
}

function workerPids(): number[] {
  const m = /with 2 workers \(pids (\d+), (\d+)\)/.exec(output);
  if (!m) throw new Error('no banner');
  return [Number(m[1]), Number(m[2])];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-workers-'));
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
  for (const u of [...USERS, 'multi']) await storage.users.create('localhost', u, credentials);
  await storage.close();
  node = spawn(process.execPath, [join(ROOT, 'server/main.ts'), '--config', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  node.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  node.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  exited = new Promise((resolve) => node.once('exit', (code) => resolve(code)));
  await until('the node is running', () => output.includes('Meerkat is running'), 30_000);
}, 40_000);

afterAll(async () => {
  if (node.exitCode === null && node.signalCode === null) {
    node.kill('SIGKILL');
    for (const pid of workerPids()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await rm(dir, { recursive: true, force: true });
});

test('clients spread over both workers, everyone talks to everyone, bare-JID priorities hold across workers, a killed worker is restarted', async () => {
  const clients: Client[] = [];
  for (const u of USERS) clients.push(await login(u, 'r'));
  // The kernel spreads connections over the two listening workers.
  const onWorker = [0, 1].map((w) => clients.filter((c) => c.worker === w).length);
  expect(onWorker[0]).toBeGreaterThan(0);
  expect(onWorker[1]).toBeGreaterThan(0);
  await barrier(clients);

  // Every pair, both ways, to the bare JID.
  for (const a of clients) {
    for (const b of clients) {
      if (a === b) continue;
      a.raw.send(`<message to='${b.jid.split('/')[0]}' type='chat'><body>${a.jid.split('@')[0]}-to-${b.jid.split('@')[0]}</body></message>`);
    }
  }
  for (const b of clients) {
    const me = b.jid.split('@')[0];
    await until(`${me} got all`, () => bodiesFrom(b).length === clients.length - 1);
    expect(bodiesFrom(b).sort()).toEqual(clients.filter((a) => a !== b).map((a) => `${a.jid.split('@')[0]}-to-${me}`).sort());
    expect(b.raw.received).not.toContain("type='error'");
  }

  // One account, a resource on each worker: bare-JID messages go to the higher priority one.
  const multi: Client[] = [];
  for (let i = 0; multi.length < 2 && i < 40; i++) {
    const c = await login('multi', `m${i}`, multi.length === 0 ? 1 : 5);
    if (multi.some((m) => m.worker === c.worker)) c.raw.close();
    else multi.push(c);
  }
  expect(multi.map((m) => m.worker).sort()).toEqual([0, 1]);
  await barrier(clients);
  const [low, high] = multi;
  const sender = clients.find((c) => c.worker === low.worker)!;
  sender.raw.send("<message to='multi@localhost' type='chat'><body>to-the-higher</body></message>");
  sender.raw.send(`<message to='${low.jid}' type='chat'><body>to-the-lower</body></message>`);
  await until('high got its message', () => bodiesFrom(high).includes('to-the-higher'));
  await until('low got its message', () => bodiesFrom(low).includes('to-the-lower'));
  expect(bodiesFrom(high)).toEqual(['to-the-higher']);
  expect(bodiesFrom(low)).toEqual(['to-the-lower']);

  // Kill worker 1: its clients drop, worker 0's keep talking, the supervisor starts a new worker 1.
  const [pid0, pid1] = workerPids();
  process.kill(pid1, 'SIGKILL');
  const victims = [...clients, ...multi].filter((c) => c.worker === 1);
  const survivors = clients.filter((c) => c.worker === 0);
  for (const v of victims) await v.raw.waitForClose(10_000);
  for (const s of survivors) s.raw.clear();
  for (const a of survivors) for (const b of survivors) if (a !== b) a.raw.send(`<message to='${b.jid}' type='chat'><body>after-${a.jid.split('@')[0]}</body></message>`);
  for (const b of survivors) await until('survivors talk', () => bodiesFrom(b).length === survivors.length - 1);
  await until('worker 1 restarted', () => output.split(WORKER_1_READY).length === 3, 20_000);
  expect(output).toContain('"worker_exited"');
  process.kill(pid0, 0); // worker 0 was never restarted

  // Users of the dead worker log in again, and land on both workers again.
  const back: Client[] = [];
  for (const v of victims) back.push(await login(v.jid.split('@')[0], 'again'));
  let extra = 0;
  while (!back.some((c) => c.worker === 1) && extra < 30) back.push(await login('multi', `x${extra++}`));
  const onNewWorker1 = back.find((c) => c.worker === 1)!;
  const onWorker0 = survivors[0];
  await barrier([onWorker0, onNewWorker1]);
  onWorker0.raw.send(`<message to='${onNewWorker1.jid}' type='chat'><body>welcome-back</body></message>`);
  await until('restarted worker reachable', () => bodiesFrom(onNewWorker1).includes('welcome-back'));

  for (const c of [...survivors, ...back, ...multi]) c.raw.close();

  // SIGTERM stops the whole node gracefully.
  node.kill('SIGTERM');
  expect(await exited).toBe(0);
  for (const pid of [pid0]) expect(() => process.kill(pid, 0)).toThrow();
}, 90_000);

const WORKER_1_READY = 'Meerkat worker ready: worker 1';
