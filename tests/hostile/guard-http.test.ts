// The guard on the HTTP entry points of a real server. BOSH sessions and WebSocket
// connections count against the same per-IP and total caps as c2s TCP connections and are
// refused while their address is banned; their SASL failures count toward that ban; the
// listener's access rule applies at resource binding; the listener's shaper holds
// WebSocket frames in a bounded queue (a flood is closed with policy-violation) and BOSH
// bodies until the session's bucket allows; silence before authentication is cut. Every
// session and connection is counted out exactly once, however it ends. Client addresses
// are 127.0.x.y source addresses.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { freePort } from '../helpers/ports.ts';
import { HostileSocket, streamErrorCondition } from './hostile-socket.ts';
import {
  boshLoginAndBind, boshScram, boshUntil, NS_FRAMING, SourcedBosh, SourcedWebSocket, streamErrorOf, terminateCondition,
  wsLoginAndBind, wsOpen, wsScram,
} from './sourced-clients.ts';

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const httpListener = (port: number, extra = '') => `
[[listen.http]]
port = ${port}
ip_address = "127.0.0.1"
${extra}`;

function countedOut(ts: TestServer): () => boolean {
  return () => {
    const s = ts.server.guard.stats();
    return s.open === 0 && s.addresses === 0 && Object.values(s.openByTransport).every((n) => n === 0);
  };
}

/** The frames of a refused WebSocket: our <open/>, the stream error, <close/>, then the close frame. */
function expectWebSocketRefusal(ws: SourcedWebSocket, condition: string, text: string): void {
  expect(ws.frames[0]).toMatch(/^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='[^']+' from='localhost' version='1.0'/);
  expect(streamErrorOf(ws.frames[1] ?? '')).toBe(condition);
  expect(ws.frames[1]).toContain(text);
  expect(ws.frames[2]).toBe(`<close xmlns='${NS_FRAMING}'/>`);
  expect(ws.closeFrame).toBe(true);
}

describe('caps over BOSH and WebSocket, shared with c2s TCP', () => {
  let ts: TestServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    ts = await startTestServer({ toml: `[guard]\nmax_connections = 5\nmax_connections_per_ip = 2\n${httpListener(port)}` });
  });
  afterAll(() => ts.stop());

  test('two units from one address: a third BOSH session, WebSocket or TCP connection is refused with policy-violation; other addresses are not; a terminated session frees its slot', async () => {
    const session = new SourcedBosh(port, '127.0.2.1');
    await session.create();
    expect(session.sid).not.toBe('');
    const ws = await SourcedWebSocket.connect(port, '127.0.2.1');
    await wsOpen(ws);
    expect(ts.server.guard.stats().openByTransport).toEqual({ c2s: 0, bosh: 1, websocket: 1, component: 0 });

    const third = new SourcedBosh(port, '127.0.2.1');
    expect(terminateCondition(await third.create())).toEqual({ condition: 'policy-violation', streamError: undefined });
    expect(third.sid).toBe('');
    const refusedWs = await SourcedWebSocket.connect(port, '127.0.2.1');
    await refusedWs.waitForClose();
    expectWebSocketRefusal(refusedWs, 'policy-violation', 'too many connections from your address');
    const tcp = await HostileSocket.connect(ts.c2sPort, { from: '127.0.2.1' });
    expect(streamErrorCondition(await tcp.waitForClose())).toBe('policy-violation');

    const other = new SourcedBosh(port, '127.0.2.2');
    await other.create();
    expect(other.sid).not.toBe('');

    expect(terminateCondition(await session.terminate()).condition).toBeUndefined();
    const again = await SourcedWebSocket.connect(port, '127.0.2.1');
    await wsOpen(again);
    expect(ts.server.metrics.value('guard_refused_total', { why: 'per-ip', transport: 'bosh' })).toBe(1);
    expect(ts.server.metrics.value('guard_refused_total', { why: 'per-ip', transport: 'websocket' })).toBe(1);
    expect(ts.server.metrics.value('guard_refused_total', { why: 'per-ip', transport: 'c2s' })).toBe(1);

    ws.close();
    again.close();
    await other.terminate();
    await eventually(countedOut(ts), 'every unit counted out');
  });

  test('beyond the total cap a BOSH session gets remote-stream-error with resource-constraint, a WebSocket and a TCP connection resource-constraint', async () => {
    const held: Array<{ close(): unknown }> = [];
    for (const from of ['127.0.2.10', '127.0.2.11']) held.push(await HostileSocket.connect(ts.c2sPort, { from }));
    for (const from of ['127.0.2.12', '127.0.2.13']) {
      const b = new SourcedBosh(port, from);
      await b.create();
      expect(b.sid).not.toBe('');
      held.push({ close: () => b.terminate() });
    }
    const ws = await SourcedWebSocket.connect(port, '127.0.2.14');
    held.push(ws);
    await eventually(() => ts.server.guard.stats().open === 5, 'five units open');

    const late = new SourcedBosh(port, '127.0.2.15');
    const reply = await late.create();
    expect(terminateCondition(reply)).toEqual({ condition: 'remote-stream-error', streamError: 'resource-constraint' });
    expect(reply).toContain('the server has too many connections');
    const lateWs = await SourcedWebSocket.connect(port, '127.0.2.16');
    await lateWs.waitForClose();
    expectWebSocketRefusal(lateWs, 'resource-constraint', 'the server has too many connections');
    const lateTcp = await HostileSocket.connect(ts.c2sPort, { from: '127.0.2.17' });
    expect(streamErrorCondition(await lateTcp.waitForClose())).toBe('resource-constraint');

    await Promise.all(held.map((h) => h.close()));
    await eventually(countedOut(ts), 'every unit counted out');
  });
});

describe('every BOSH session and WebSocket is counted out exactly once', () => {
  let ts: TestServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    ts = await startTestServer({
      toml: httpListener(port, `[listen.http.handlers.bosh]\ninactivity = "1s"\n[listen.http.handlers.websocket]\n`),
    });
  });
  afterAll(() => ts.stop());

  test('three rounds of 20 BOSH sessions (half terminated, half timed out) and 20 WebSockets (half dropped by the client, half closed with <close/>): back to zero each time', async () => {
    for (let round = 0; round < 3; round++) {
      const sessions = Array.from({ length: 20 }, (_, i) => new SourcedBosh(port, `127.0.3.${i + 1}`));
      await Promise.all(sessions.map((s) => s.create()));
      expect(sessions.every((s) => s.sid !== '')).toBe(true);
      const sockets = await Promise.all(Array.from({ length: 20 }, (_, i) => SourcedWebSocket.connect(port, `127.0.3.${i + 101}`)));
      await Promise.all(sockets.map((ws) => wsOpen(ws)));
      expect(ts.server.guard.stats().openByTransport).toEqual({ c2s: 0, bosh: 20, websocket: 20, component: 0 });

      // Half the sessions end with a terminate body, the other half by inactivity (1 s).
      await Promise.all(sessions.slice(0, 10).map((s) => s.terminate()));
      // Half the WebSockets are dropped without a word, half end the stream properly.
      for (const ws of sockets.slice(0, 10)) ws.close();
      for (const ws of sockets.slice(10)) ws.send(`<close xmlns='${NS_FRAMING}'/>`);
      await Promise.all(sockets.slice(10).map((ws) => ws.waitForClose()));
      await eventually(countedOut(ts), `round ${round}: every unit counted out`, 8000);
    }
    expect(ts.server.guard.stats().refused).toEqual({ total: 0, 'per-ip': 0, banned: 0 });
  }, 40_000);
});

describe('authentication failures over BOSH and WebSocket ban the address everywhere', () => {
  let ts: TestServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    ts = await startTestServer({
      users: { 'alice@localhost': 'alice-pw' },
      toml: `[guard]\nauth_failures_per_ip = 3\nban_duration = "60s"\n${httpListener(port)}`,
    });
  });
  afterAll(() => ts.stop());

  const banned = 'too many failed authentication attempts from your address';

  test('three wrong passwords over WebSocket: the next BOSH session, TCP connection and WebSocket from that address are refused; another address logs in', async () => {
    const ws = await SourcedWebSocket.connect(port, '127.0.4.1');
    await wsOpen(ws);
    for (let i = 0; i < 3; i++) expect(await wsScram(ws, 'alice', `guess-${i}`)).toBe(false);
    expect(ts.server.guard.bannedFor('127.0.4.1')).toBeGreaterThan(0);

    const bosh = new SourcedBosh(port, '127.0.4.1');
    expect(terminateCondition(await bosh.create())).toEqual({ condition: 'policy-violation', streamError: undefined });
    expect(ts.server.metrics.value('guard_refused_total', { why: 'banned', transport: 'bosh' })).toBe(1);
    const tcp = await HostileSocket.connect(ts.c2sPort, { from: '127.0.4.1' });
    const tcpText = await tcp.waitForClose();
    expect(streamErrorCondition(tcpText)).toBe('policy-violation');
    expect(tcpText).toContain(banned);
    const again = await SourcedWebSocket.connect(port, '127.0.4.1');
    await again.waitForClose();
    expectWebSocketRefusal(again, 'policy-violation', banned);

    const other = await SourcedWebSocket.connect(port, '127.0.4.2');
    await wsOpen(other);
    expect(await wsScram(other, 'alice', 'alice-pw')).toBe(true);
    other.close();
    ws.close();
  });

  test('three wrong passwords over BOSH: the next WebSocket from that address is refused', async () => {
    const bosh = new SourcedBosh(port, '127.0.4.3');
    await bosh.create();
    for (let i = 0; i < 3; i++) expect(await boshScram(bosh, 'alice', `guess-${i}`)).toBe(false);
    expect(ts.server.guard.bannedFor('127.0.4.3')).toBeGreaterThan(0);
    const ws = await SourcedWebSocket.connect(port, '127.0.4.3');
    await ws.waitForClose();
    expectWebSocketRefusal(ws, 'policy-violation', banned);
    expect(ts.server.metrics.value('guard_refused_total', { why: 'banned', transport: 'websocket' })).toBeGreaterThanOrEqual(1);
    await eventually(countedOut(ts), 'every unit counted out');
  });
});

describe('the listener access rule, the shaper and the pre-authentication watch over HTTP', () => {
  let ts: TestServer;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    ts = await startTestServer({
      users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' },
      toml: `[shaper.trickle]
max_rate = 2000
[acl]
alice_acl = [{ user = "alice" }]
[access]
only_alice = [{ acl = "alice_acl", value = "allow" }]
[guard]
preauth_idle_timeout = "500ms"
${httpListener(port, 'shaper = "trickle"\naccess = "only_alice"')}`,
    });
  });
  afterAll(() => ts.stop());

  const ping = (id: string) => `<iq type='get' id='${id}' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>`;
  const answered = (text: string) => [...text.matchAll(/<iq [^>]*id='(p\d+)'/g)].map((m) => m[1]!);

  test("bob's session is refused at resource binding with not-allowed, over WebSocket and BOSH; alice's is bound", async () => {
    const bobWs = await SourcedWebSocket.connect(port, '127.0.5.1');
    const bobBind = await wsLoginAndBind(bobWs, 'bob', 'bob-pw', 'web');
    expect(bobBind).toMatch(/<iq [^>]*type='error'/);
    expect(bobBind).toContain('<not-allowed');
    const aliceWs = await SourcedWebSocket.connect(port, '127.0.5.1');
    expect(await wsLoginAndBind(aliceWs, 'alice', 'alice-pw', 'web')).toMatch(/<iq [^>]*type='result'/);

    const bobBosh = await boshLoginAndBind(new SourcedBosh(port, '127.0.5.2'), 'bob', 'bob-pw', 'bosh');
    expect(bobBosh).toContain('<not-allowed');
    expect(await boshLoginAndBind(new SourcedBosh(port, '127.0.5.2'), 'alice', 'alice-pw', 'bosh')).toMatch(/<iq [^>]*type='result'/);
    bobWs.close();
    aliceWs.close();
  });

  test('a WebSocket that opens nothing is cut with connection-timeout before the pre-auth timeout', async () => {
    const ws = await SourcedWebSocket.connect(port, '127.0.5.3');
    await ws.waitForClose(4000);
    expect(streamErrorOf(ws.text)).toBe('connection-timeout');
    expect(ws.frames.at(-1)).toBe(`<close xmlns='${NS_FRAMING}'/>`);
    expect(ts.server.metrics.value('guard_cut_total', { why: 'idle', transport: 'websocket' })).toBeGreaterThanOrEqual(1);
  });

  test('frames over the rate are held and answered in order, not dropped: 60 pings after login all come back', async () => {
    const ws = await SourcedWebSocket.connect(port, '127.0.5.4');
    await wsLoginAndBind(ws, 'alice', 'alice-pw', 'paced');
    const before = ts.server.guard.stats().shaped;
    ws.clear();
    const ids = Array.from({ length: 60 }, (_, i) => `p${i}`);
    for (const id of ids) ws.send(ping(id) + ' '.repeat(40));
    await ws.waitFor("id='p59'", 10_000);
    expect(answered(ws.text)).toEqual(ids);
    expect(ws.closed).toBe(false);
    expect(ts.server.guard.stats().shaped).toBeGreaterThan(before);
    ws.close();
  });

  test('a frame flood fills the bounded queue: closed with policy-violation, most frames never processed', async () => {
    const ws = await SourcedWebSocket.connect(port, '127.0.5.5');
    await wsLoginAndBind(ws, 'alice', 'alice-pw', 'flood');
    ws.clear();
    // In one write, so the server has read all of it when it closes (unread bytes would
    // make the kernel reset the connection, and the client might never see the error).
    ws.sendMany(Array.from({ length: 2000 }, (_, i) => ping(`p${i}`)));
    await ws.waitForClose(5000);
    expect(streamErrorOf(ws.text)).toBe('policy-violation');
    expect(ws.text).toContain('frames arrive faster than this server accepts them');
    // Only what the burst let through was processed: the held frames were dropped with the connection.
    expect(answered(ws.text).length).toBeLessThan(256);
    await eventually(() => ts.server.guard.stats().openByTransport.websocket === 0, 'the WebSocket counted out');
  });

  test('BOSH bodies over the rate wait for the bucket and are processed in rid order', async () => {
    const bosh = new SourcedBosh(port, '127.0.5.6');
    await boshLoginAndBind(bosh, 'alice', 'alice-pw', 'shaped');
    const before = ts.server.guard.stats().shaped;
    // 3 KB per body against 2000 bytes per second: the second and third wait.
    const batch = (from: number) => Array.from({ length: 30 }, (_, i) => ping(`p${from + i}`) + ' '.repeat(40)).join('');
    const first = await boshUntil(bosh, batch(0), /id='p29'/);
    const [second, third] = await Promise.all([bosh.send(batch(30)), bosh.send(batch(60))]);
    let seen = first + second + third;
    for (let i = 0; i < 5 && !seen.includes("id='p89'"); i++) seen += await bosh.send();
    expect(answered(seen)).toEqual(Array.from({ length: 90 }, (_, i) => `p${i}`));
    expect(seen).not.toContain("type='terminate'");
    expect(ts.server.guard.stats().shaped).toBeGreaterThan(before);
    expect(ts.server.metrics.value('guard_shaper_pauses_total', { transport: 'bosh' })).toBeGreaterThan(0);
    await bosh.terminate();
  });
});
