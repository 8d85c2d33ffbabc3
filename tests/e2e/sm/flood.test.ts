// "Nothing accepted is lost" under stream management, end to end: bob floods alice with 500
// numbered messages while alice's TCP connection is destroyed mid-flood (no stream close).
//
//   1. alice is xmpp.js with @xmpp/stream-management: it reconnects, resumes, and ends up
//      with every message exactly once.
//   2. alice (a raw client acknowledging every <r/>) never comes back: after a short
//      resume_timeout what she did not acknowledge goes to offline storage and reaches her
//      at the next login. sent = acknowledged ∪ stored ∪ bounced, with no message twice.

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { client, type Client, type XmlElement } from '@xmpp/client';
import type { Socket } from 'node:net';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { login, type Wire } from '../../integration/c2s/wire.ts';
import { bodies, NS_SM, smLogin, waitForBodies } from '../../integration/sm/sm-wire.ts';

const FLOOD = 500;
const KILL_AFTER = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const users = { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' };
const started: Client[] = [];
const wires: Wire[] = [];

afterEach(async () => {
  for (const c of started.splice(0)) await c.stop().catch(() => {});
  for (const w of wires.splice(0)) w.close();
});

/** Sends the flood in small batches so the receiver can die in the middle of it. */
async function flood(bob: Wire, to: string): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < FLOOD; i += 20) {
    let batch = '';
    for (let j = i; j < Math.min(i + 20, FLOOD); j++) {
      sent.push(`seq-${j}`);
      batch += `<message type='chat' to='${to}' id='seq-${j}'><body>seq-${j}</body></message>`;
    }
    bob.send(batch);
    await sleep(2);
  }
  return sent;
}

/** The part of xmpp.js's stream management object this test reads (the shared typings leave it out). */
interface XmppJsStreamManagement {
  enabled: boolean;
  id: string;
  on(event: 'resumed', listener: () => void): void;
}

function streamManagementOf(xmpp: Client): XmppJsStreamManagement {
  return (xmpp as unknown as { streamManagement: XmppJsStreamManagement }).streamManagement;
}

async function waitUntil(done: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

describe('xmpp.js resumes after its connection is destroyed mid-flood', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({
      users,
      toml: `
[modules.mod_stream_management]
resume_timeout = "60s"
max_unacked = 1000
[modules.mod_offline]
max_messages = 1000
`,
    });
    trustCa(ts.ca);
  });
  afterAll(async () => {
    await ts.stop();
  });

  test('every message arrives exactly once, in order', async () => {
    const alice = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource: 'phone', username: 'alice', password: 'alice-pw' });
    alice.on('error', () => {});
    started.push(alice);
    const received: string[] = [];
    let resumed = 0;
    const sm = streamManagementOf(alice);
    sm.on('resumed', () => resumed++);
    let killed = false;
    alice.on('stanza', (stanza: XmlElement) => {
      if (!stanza.is('message')) return;
      const body = stanza.getChildText('body');
      if (body !== null) received.push(body);
      if (!killed && received.length === KILL_AFTER) {
        killed = true;
        // The connection dies under the client: no </stream:stream>, no TLS close_notify.
        // After STARTTLS xmpp.js keeps its TLS wrapper in entity.socket, the TLS socket inside.
        (alice as unknown as { socket: { socket: Socket } }).socket.socket.destroy();
      }
    });
    await alice.start();
    // xmpp.js enables SM right after binding, without holding back 'online'.
    await waitUntil(() => sm.enabled, 'stream management enabled');
    expect(sm.id).not.toBe('');

    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'sender');
    wires.push(bob);
    const sent = await flood(bob, 'alice@localhost/phone');
    await waitUntil(() => received.length >= FLOOD, `all ${FLOOD} messages (got ${received.length})`);
    await sleep(300);

    expect(killed).toBe(true);
    expect(resumed).toBe(1);
    expect(received).toEqual(sent);
  }, 30000);
});

describe('a receiver that never comes back', () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({
      users,
      toml: `
[modules.mod_stream_management]
resume_timeout = "1s"
max_unacked = 1000
ack_request_every = 5
[modules.mod_offline]
max_messages = 1000
`,
    });
  });
  afterAll(async () => {
    await ts.stop();
  });

  test('what it did not acknowledge is stored offline and delivered at the next login; nothing twice', async () => {
    const alice = await smLogin(ts, 'alice', 'alice-pw', 'phone');
    wires.push(alice.wire);
    // Alice answers every <r/> with the number of messages she has read so far.
    let acked = 0;
    let answered = 0;
    const acker = setInterval(() => {
      const text = alice.wire.text;
      const requests = text.split(`<r xmlns='${NS_SM}'/>`).length - 1;
      if (requests > answered) {
        answered = requests;
        acked = bodies(text).length;
        alice.wire.send(`<a xmlns='${NS_SM}' h='${acked}'/>`);
      }
      if (!alice.wire.closed && bodies(text).length >= KILL_AFTER) alice.wire.close();
    }, 1);

    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'sender');
    wires.push(bob);
    const sent = await flood(bob, alice.jid);
    await waitUntil(() => alice.wire.closed, 'alice killed');
    clearInterval(acker);
    const seenBeforeDeath = bodies(alice.wire.text);
    const acknowledged = seenBeforeDeath.slice(0, acked);
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.length).toBeLessThan(FLOOD);

    // Past the resume timeout, alice logs in again and fetches her offline messages.
    await sleep(1500);
    const { wire: again } = await login(ts, 'alice', 'alice-pw', 'desktop');
    wires.push(again);
    again.send('<presence/>');
    const stored = await waitForBodies(again, FLOOD - acknowledged.length, 10000);
    await sleep(300);
    const bounced = [...bob.text.matchAll(/<message [^>]*type='error'[^>]*id='(seq-\d+)'|<message [^>]*id='(seq-\d+)'[^>]*type='error'/g)].map((m) => m[1] ?? m[2]!);

    const all = [...acknowledged, ...bodies(again.text), ...bounced];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual([...sent].sort());
    expect(stored.length).toBe(FLOOD - acknowledged.length);
    // Stored messages say when the server first took them (XEP-0203).
    expect(again.text).toContain("<delay xmlns='urn:xmpp:delay'");
  }, 30000);
});
