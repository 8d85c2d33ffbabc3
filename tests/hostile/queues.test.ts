// The per-session outbound bound (docs/security.md, "Every queue"): a client that stops
// reading while others write to it is closed with policy-violation once 4 MB wait for it,
// instead of the server buffering without end; the writer's session is not affected.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { login, streamErrorCondition } from './hostile-socket.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' } });
});
afterAll(() => ts.stop());

test('a reader that never reads is cut at the outbound bound; the sender carries on', async () => {
  const alice = await login(ts.tlsPort, ts.ca, 'alice', 'alice-pw', 'writer');
  const bob = await login(ts.tlsPort, ts.ca, 'bob', 'bob-pw', 'sleeper');
  bob.socket.pause();
  const filler = 'x'.repeat(8000);
  const deadline = Date.now() + 15_000;
  let sent = 0;
  // 40 MB offered to bob, far beyond what the kernel buffers and the 4 MB bound hold.
  while (sent < 5000 && Date.now() < deadline && ts.server.core.sessions.size === 2) {
    let batch = '';
    for (let i = 0; i < 50; i++) batch += `<message to='bob@localhost/sleeper' id='s${sent + i}'><body>${filler}</body></message>`;
    sent += 50;
    alice.send(batch);
    await sleep(5);
  }
  while (ts.server.core.sessions.size === 2 && Date.now() < deadline) await sleep(50);
  expect(ts.server.core.sessions.size).toBe(1);
  expect(sent).toBeLessThan(5000);
  // What bob finally reads ends with the reason.
  bob.socket.resume();
  expect(streamErrorCondition(await bob.waitForClose(10_000))).toBe('policy-violation');
  alice.send("<iq type='get' id='still-here'><ping xmlns='urn:xmpp:ping'/></iq>");
  await alice.waitFor("id='still-here'");
  alice.close();
}, 30_000);
