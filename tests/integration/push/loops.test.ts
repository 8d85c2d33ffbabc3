// Over real sockets: a component on a [[listen.component]] that echoes every stanza back
// (addresses swapped), registered as alice's app server, and a flood of messages for offline
// alice. Hop counts do not survive a socket, so what ends this is the push module itself: the
// echoed publish comes back as an error and disables the registration. Also: the http
// backend POSTs to a real loopback webhook and retries a 500.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { connectComponent, loginUser } from '../component/wire.ts';
import type { RawClient } from '../../helpers/raw-client.ts';
import { parseJid } from '../../../server/jid.ts';
import { eventPusherState } from '../../../modules/mod_event_pusher/index.ts';

const SECRET = 'echo-secret';
const ECHO = 'echo.localhost';
const FLOOD = 3000;

let ts: TestServer;
let componentPort: number;
let webhook: Server;
const posted: Array<Record<string, unknown>> = [];
let failNext = 1;

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        return;
      }
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const hookPort = (webhook.address() as AddressInfo).port;
  for (let attempt = 1; ; attempt++) {
    try {
      componentPort = await freePort();
      ts = await startTestServer({
        users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' },
        toml: `
[modules.mod_offline]
max_messages = 20
[modules.mod_event_pusher.push]
[modules.mod_event_pusher.http]
url = "http://127.0.0.1:${hookPort}/events"
retry_delay = "10ms"
include_body = true
[[listen.component]]
port = ${componentPort}
ip_address = "127.0.0.1"
password = "${SECRET}"`,
      });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
});

afterAll(async () => {
  await ts?.stop();
  await new Promise((r) => webhook.close(r));
});

/** Polls a raw component stream for complete top-level stanzas and sends each back with addresses swapped. */
function echoForever(c: RawClient): { echoed: () => number; stop: () => void } {
  let echoed = 0;
  let buffer = '';
  const timer = setInterval(() => {
    buffer += c.received;
    c.clear();
    const re = /<(iq|message|presence)\b[^>]*?(?:\/>|>.*?<\/\1>)/gs;
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = re.exec(buffer)) !== null) {
      const open = /^<[^>]*>/.exec(m[0])![0];
      const from = /\bfrom='([^']*)'/.exec(open)?.[1];
      const to = /\bto='([^']*)'/.exec(open)?.[1];
      if (from !== undefined && to !== undefined) {
        const swappedOpen = open.replace(/\bfrom='[^']*'/, 'from=\u0000').replace(/\bto='[^']*'/, `to='${from}'`).replace('from=\u0000', `from='${to}'`);
        c.send(swappedOpen + m[0].slice(open.length));
        echoed++;
      }
      consumed = re.lastIndex;
    }
    buffer = buffer.slice(consumed);
  }, 5);
  return { echoed: () => echoed, stop: () => clearInterval(timer) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a component echoing everything back as alice\'s app server: the flood ends with the registration disabled and bounded work', async () => {
  const echo = await connectComponent(componentPort, ECHO, SECRET);
  const counter = echoForever(echo);
  const alice = await loginUser(ts, 'alice', 'alice-pw', 'phone');
  alice.send(`<iq type='set' id='en1'><enable xmlns='urn:xmpp:push:0' jid='${ECHO}' node='n1'/></iq>`);
  await alice.waitFor("id='en1'");
  alice.send('</stream:stream>');
  await alice.waitForClose();
  const state = eventPusherState(ts.server.core.hooks, 'localhost')!;
  const user = parseJid('alice@localhost');
  await until(() => ts.server.core.sessions.resources(user).length === 0, 'alice offline');

  const bob = await loginUser(ts, 'bob', 'bob-pw', 'desk');
  const routedBefore = ts.server.core.router.stats.routed;
  for (let i = 0; i < FLOOD; i++) bob.send(`<message to='alice@localhost' type='chat' id='f${i}'><body>flood ${i}</body></message>`);
  // Bob gets one error per message that did not fit offline storage: wait until all arrived.
  const errorsToBob = () => (bob.received.match(/type='error'/g) ?? []).length;
  await until(() => errorsToBob() >= FLOOD - 20, 'the refusals');
  await until(async () => (await state.push!.registrations(user)).length === 0, 'the registration to go');
  await state.idle();
  await new Promise((r) => setTimeout(r, 100)); // anything still echoing would show up now
  counter.stop();
  expect(await state.push!.registrations(user)).toEqual([]);
  expect(state.push!.stats.disabled).toBe(1);
  // The same counters are on the node's /metrics.
  const metrics = ts.server.metrics.render();
  expect(metrics).toContain('meerkat_push_registrations_disabled_total 1');
  expect(metrics).toMatch(/meerkat_push_published_total [12]\n/);
  // The one publish, echoed as a set, answered with an error by the server, echoed back: that error disabled it.
  expect(state.push!.stats.published).toBeLessThanOrEqual(2);
  expect(counter.echoed()).toBeGreaterThanOrEqual(1);
  expect(counter.echoed()).toBeLessThanOrEqual(4);
  expect(state.push!.publisher.pendingCount).toBe(0);
  // Per message: routed, then at most one error to bob (and the webhook event, which routes nothing).
  const routed = ts.server.core.router.stats.routed - routedBefore;
  expect(routed).toBeLessThanOrEqual(2 * FLOOD + 10);
  expect(errorsToBob()).toBeLessThanOrEqual(FLOOD);
  expect(ts.server.core.router.stats.hopLimitDrops).toBe(0);
  bob.send('</stream:stream>');
  echo.send('</stream:stream>');
}, 60_000);

test('the http backend POSTs a JSON event per pushed message, retrying after a 500', async () => {
  const state = eventPusherState(ts.server.core.hooks, 'localhost')!;
  await state.idle();
  expect(state.http!.stats.retried).toBeGreaterThanOrEqual(1);
  expect(posted.length).toBeGreaterThan(0);
  expect(posted[0]).toMatchObject({ event: 'message', host: 'localhost', to: 'alice@localhost', from: 'bob@localhost/desk' });
  expect(typeof posted[0]!.body).toBe('string');
  // Bounded: the flood overflowed the queue and was counted, not kept.
  expect(state.http!.stats.queued + state.http!.stats.dropped).toBe(state.push!.stats.triggered);
  expect(state.http!.sender.queueLength).toBe(0);
}, 30_000);
