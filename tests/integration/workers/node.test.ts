// A node with [general] workers = 2 started as a process (`bun server/main.ts`): the
// supervisor, two workers on one c2s port. Clients log in with SCRAM-SHA-1 over plain TCP
// on loopback; which worker took
// each session is read from the workers' log lines (every line names its worker).

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { TwoWorkerNode, type Client } from './two-worker-node.ts';

const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);

let node: TwoWorkerNode;

/** Waits until the workers have each other's sessions (TwoWorkerNode.barrier), with one client on each. */
function barrier(clients: Client[]): Promise<void> {
  return node.barrier(clients.find((c) => c.worker === 0)!, clients.find((c) => c.worker === 1)!);
}

function bodiesFrom(c: Client): string[] {
  return [...c.raw.received.matchAll(/<body>([^<]*)<\/body>/g)].map((m) => m[1]);
}

beforeAll(async () => {
  node = await TwoWorkerNode.start([...USERS, 'multi']);
}, 40_000);

afterAll(() => node?.kill());

test('clients spread over both workers, everyone talks to everyone, bare-JID priorities hold across workers, a killed worker is restarted', async () => {
  const clients: Client[] = [];
  for (const u of USERS) clients.push(await node.login(u, 'r'));
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
    await node.until(`${me} got all`, () => bodiesFrom(b).length === clients.length - 1);
    expect(bodiesFrom(b).sort()).toEqual(clients.filter((a) => a !== b).map((a) => `${a.jid.split('@')[0]}-to-${me}`).sort());
    expect(b.raw.received).not.toContain("type='error'");
  }

  // One account, a resource on each worker: bare-JID messages go to the higher priority one.
  const multi: Client[] = [];
  for (let i = 0; multi.length < 2 && i < 40; i++) {
    const c = await node.login('multi', `m${i}`, multi.length === 0 ? 1 : 5);
    if (multi.some((m) => m.worker === c.worker)) c.raw.close();
    else multi.push(c);
  }
  expect(multi.map((m) => m.worker).sort()).toEqual([0, 1]);
  await barrier(clients);
  const [low, high] = multi;
  const sender = clients.find((c) => c.worker === low.worker)!;
  sender.raw.send("<message to='multi@localhost' type='chat'><body>to-the-higher</body></message>");
  sender.raw.send(`<message to='${low.jid}' type='chat'><body>to-the-lower</body></message>`);
  await node.until('high got its message', () => bodiesFrom(high).includes('to-the-higher'));
  await node.until('low got its message', () => bodiesFrom(low).includes('to-the-lower'));
  expect(bodiesFrom(high)).toEqual(['to-the-higher']);
  expect(bodiesFrom(low)).toEqual(['to-the-lower']);

  // Kill worker 1: its clients drop, worker 0's keep talking, the supervisor starts a new worker 1.
  const [pid0, pid1] = node.workerPids();
  process.kill(pid1, 'SIGKILL');
  const victims = [...clients, ...multi].filter((c) => c.worker === 1);
  const survivors = clients.filter((c) => c.worker === 0);
  for (const v of victims) await v.raw.waitForClose(10_000);
  for (const s of survivors) s.raw.clear();
  for (const a of survivors) for (const b of survivors) if (a !== b) a.raw.send(`<message to='${b.jid}' type='chat'><body>after-${a.jid.split('@')[0]}</body></message>`);
  for (const b of survivors) await node.until('survivors talk', () => bodiesFrom(b).length === survivors.length - 1);
  await node.until('worker 1 restarted', () => node.output.split(WORKER_1_READY).length === 3, 20_000);
  expect(node.output).toContain('"worker_exited"');
  process.kill(pid0, 0); // worker 0 was never restarted

  // Users of the dead worker log in again, and land on both workers again.
  const back: Client[] = [];
  for (const v of victims) back.push(await node.login(v.jid.split('@')[0], 'again'));
  let extra = 0;
  while (!back.some((c) => c.worker === 1) && extra < 30) back.push(await node.login('multi', `x${extra++}`));
  const onNewWorker1 = back.find((c) => c.worker === 1)!;
  const onWorker0 = survivors[0];
  await barrier([onWorker0, onNewWorker1]);
  onWorker0.raw.send(`<message to='${onNewWorker1.jid}' type='chat'><body>welcome-back</body></message>`);
  await node.until('restarted worker reachable', () => bodiesFrom(onNewWorker1).includes('welcome-back'));

  for (const c of [...survivors, ...back, ...multi]) c.raw.close();

  // SIGTERM stops the whole node gracefully.
  node.process.kill('SIGTERM');
  expect(await node.exited).toBe(0);
  for (const pid of [pid0]) expect(() => process.kill(pid, 0)).toThrow();
}, 90_000);

const WORKER_1_READY = 'Meerkat worker ready: worker 1';
