// The guard on the component entry points of a real server (XEP-0114 over TCP, and over
// the WebSocket endpoint). Component connections count against the same caps as clients
// and are refused in the component namespace; a wrong secret counts toward the same
// per-IP ban as a wrong password; the listener's access rule is judged on the domains a
// component claims once its handshake succeeded (and is not a ban); silence before the
// handshake is cut; a shaper pauses reading a flood; every connection is counted out.
// Client addresses are 127.0.x.y source addresses.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { freePorts } from '../helpers/ports.ts';
import { componentHeader, digest } from '../integration/component/wire.ts';
import { HostileSocket, streamErrorCondition } from './hostile-socket.ts';
import { SourcedWebSocket, streamErrorOf } from './sourced-clients.ts';

const SECRET = 'component-secret';

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Attempt {
  socket: HostileSocket;
  /** The handshake was answered with <handshake/>. */
  connected: boolean;
  text: string;
}

/** A component over TCP from `from`: header, then the digest of `secret`; what came back. */
async function componentOverTcp(port: number, from: string, domain: string, secret = SECRET): Promise<Attempt> {
  const socket = await HostileSocket.connect(port, { from });
  socket.send(componentHeader(domain));
  await socket.waitFor(/<stream:stream [^>]*id='[^']+'|<stream:error/);
  const id = /<stream:stream [^>]*id='([^']+)'/.exec(socket.text)?.[1];
  if (id === undefined || socket.text.includes('<stream:error')) {
    return { socket, connected: false, text: await socket.waitForClose() };
  }
  socket.send(`<handshake>${digest(id, secret)}</handshake>`);
  await socket.waitFor(/<handshake\/>|<stream:error/);
  const connected = socket.text.includes('<handshake/>');
  return { socket, connected, text: connected ? socket.text : await socket.waitForClose() };
}

/** The same over the WebSocket endpoint: the first frame opens the component stream. */
async function componentOverWebSocket(port: number, from: string, domain: string, secret = SECRET): Promise<{ ws: SourcedWebSocket; connected: boolean }> {
  const ws = await SourcedWebSocket.connect(port, from);
  ws.send(componentHeader(domain));
  await ws.waitFor(/<stream:stream [^>]*id='[^']+'|<stream:error/);
  const id = /<stream:stream [^>]*id='([^']+)'/.exec(ws.text)![1]!;
  ws.send(`<handshake>${digest(id, secret)}</handshake>`);
  await ws.waitFor(/<handshake\/>|<stream:error/);
  const connected = ws.text.includes('<handshake/>');
  if (!connected) await ws.waitForClose();
  return { ws, connected };
}

let ts: TestServer;
let plainPort: number;
let guardedPort: number;
let httpPort: number;

beforeAll(async () => {
  [plainPort, guardedPort, httpPort] = await freePorts(3);
  ts = await startTestServer({
    toml: `
[guard]
auth_failures_per_ip = 3
ban_duration = "60s"
max_connections_per_ip = 2
preauth_idle_timeout = "500ms"

[shaper.trickle]
max_rate = 2000

[acl]
bridges = [{ server_regexp = "^bridge[0-9]*\\\\." }]

[access]
bridges_only = [{ acl = "bridges", value = "allow" }]

[[listen.component]]
port = ${plainPort}
ip_address = "127.0.0.1"
password = "${SECRET}"

[[listen.component]]
port = ${guardedPort}
ip_address = "127.0.0.1"
password = "${SECRET}"
access = "bridges_only"
shaper = "trickle"

[[listen.http]]
port = ${httpPort}
ip_address = "127.0.0.1"
[listen.http.handlers.websocket.component]
password = "${SECRET}"
access = "bridges_only"
`,
  });
});
afterAll(() => ts.stop());

describe('bans', () => {
  test('three wrong secrets ban the address: its next component connection is refused with policy-violation in the component namespace, its client connections too', async () => {
    for (let i = 0; i < 3; i++) {
      const attempt = await componentOverTcp(plainPort, '127.0.6.1', `wrong${i}.localhost`, 'not-the-secret');
      expect(attempt.connected).toBe(false);
      expect(streamErrorCondition(attempt.text)).toBe('not-authorized');
    }
    expect(ts.server.guard.bannedFor('127.0.6.1')).toBeGreaterThan(0);

    const refused = await componentOverTcp(plainPort, '127.0.6.1', 'later.localhost');
    expect(refused.text).toMatch(/^<\?xml version='1.0'\?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http:\/\/etherx.jabber.org\/streams'>/);
    expect(refused.text).not.toContain("version='1.0' ");
    expect(streamErrorCondition(refused.text)).toBe('policy-violation');
    expect(refused.text).toContain('too many failed authentication attempts');
    const client = await HostileSocket.connect(ts.c2sPort, { from: '127.0.6.1' });
    expect(streamErrorCondition(await client.waitForClose())).toBe('policy-violation');
    expect(ts.server.metrics.value('guard_refused_total', { why: 'banned', transport: 'component' })).toBe(1);
  });

  test('wrong secrets over the WebSocket endpoint count toward the same ban', async () => {
    for (let i = 0; i < 3; i++) {
      const { connected } = await componentOverWebSocket(httpPort, '127.0.6.2', `bridge${i}.localhost`, 'not-the-secret');
      expect(connected).toBe(false);
    }
    expect(ts.server.guard.bannedFor('127.0.6.2')).toBeGreaterThan(0);
    const refused = await componentOverTcp(plainPort, '127.0.6.2', 'later.localhost');
    expect(streamErrorCondition(refused.text)).toBe('policy-violation');
  });
});

describe('caps and counting', () => {
  test('a third connection from one address is refused with policy-violation; a closed one frees its slot', async () => {
    const first = await componentOverTcp(plainPort, '127.0.6.3', 'one.localhost');
    const second = await componentOverTcp(plainPort, '127.0.6.3', 'two.localhost');
    expect(first.connected && second.connected).toBe(true);
    const third = await componentOverTcp(plainPort, '127.0.6.3', 'three.localhost');
    expect(third.connected).toBe(false);
    expect(streamErrorCondition(third.text)).toBe('policy-violation');
    expect(third.text).toContain('too many connections from your address');
    first.socket.close();
    await eventually(() => ts.server.guard.stats().openByTransport.component === 1, 'the closed component counted out');
    const fourth = await componentOverTcp(plainPort, '127.0.6.3', 'four.localhost');
    expect(fourth.connected).toBe(true);
    second.socket.close();
    fourth.socket.close();
    await eventually(() => ts.server.guard.stats().openByTransport.component === 0, 'every component counted out');
  });

  test('30 component connections come and go (connected, wrong secret, silent): the count returns to zero', async () => {
    const attempts = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const from = `127.0.7.${i + 1}`;
      if (i % 3 === 2) {
        const silent = await HostileSocket.connect(plainPort, { from });
        return { close: () => silent.close(), wait: () => silent.waitForClose(4000) };
      }
      const a = await componentOverTcp(plainPort, from, `c${i}.localhost`, i % 3 === 0 ? SECRET : 'wrong');
      return { close: () => a.socket.close(), wait: async () => a.text };
    }));
    // Ten connected and ten silent ones are open; the ten refused handshakes were closed by the server.
    await eventually(() => ts.server.guard.stats().openByTransport.component === 20, 'twenty components open');
    // The silent ones are cut by the pre-handshake watch; the others the test closes.
    await Promise.all(attempts.filter((_, i) => i % 3 === 2).map((a) => a.wait()));
    for (const a of attempts) a.close();
    await eventually(() => ts.server.guard.stats().openByTransport.component === 0, 'every component counted out');
  });
});

describe('access, progress and shaping', () => {
  test('a domain outside the access rule is refused with not-authorized after a correct handshake, never counted toward a ban; an allowed one connects', async () => {
    for (let i = 0; i < 4; i++) {
      const attempt = await componentOverTcp(guardedPort, '127.0.6.4', 'muc.localhost');
      expect(attempt.connected).toBe(false);
      expect(streamErrorCondition(attempt.text)).toBe('not-authorized');
      expect(attempt.text).toContain('muc.localhost may not connect through this listener');
    }
    expect(ts.server.guard.bannedFor('127.0.6.4')).toBe(0);
    const bridge = await componentOverTcp(guardedPort, '127.0.6.4', 'bridge.localhost');
    expect(bridge.connected).toBe(true);
    // The listener without a rule lets the same domain in.
    const muc = await componentOverTcp(plainPort, '127.0.6.4', 'muc.localhost');
    expect(muc.connected).toBe(true);
    bridge.socket.close();
    muc.socket.close();
  });

  test("the WebSocket component table's own access rule", async () => {
    const refused = await componentOverWebSocket(httpPort, '127.0.6.5', 'muc2.localhost');
    expect(refused.connected).toBe(false);
    expect(streamErrorOf(refused.ws.text)).toBe('not-authorized');
    const allowed = await componentOverWebSocket(httpPort, '127.0.6.5', 'bridge9.localhost');
    expect(allowed.connected).toBe(true);
    allowed.ws.close();
  });

  test('a connection that sends nothing is cut with connection-timeout, in the component namespace, long before the handshake timeout', async () => {
    const s = await HostileSocket.connect(plainPort, { from: '127.0.6.6' });
    const text = await s.waitForClose(4000);
    expect(text).toContain("xmlns='jabber:component:accept'");
    expect(streamErrorCondition(text)).toBe('connection-timeout');
    expect(ts.server.metrics.value('guard_cut_total', { why: 'idle', transport: 'component' })).toBeGreaterThanOrEqual(1);
  });

  test('a shaped listener pauses reading a 16 MB whitespace flood from a connected component instead of buffering it; the component stays connected', async () => {
    const bridge = await componentOverTcp(guardedPort, '127.0.6.7', 'bridge.localhost');
    expect(bridge.connected).toBe(true);
    const before = ts.server.guard.stats();
    const chunk = new Uint8Array(65536).fill(0x20);
    const { sent, closed } = await bridge.socket.flood(16 << 20, () => chunk, 1500);
    const after = ts.server.guard.stats();
    expect(closed).toBe(false);
    expect(after.shaped).toBeGreaterThan(before.shaped);
    expect(ts.server.metrics.value('guard_shaper_pauses_total', { transport: 'component' })).toBeGreaterThan(0);
    // Read: one burst, what one socket read may hold, and the rate for the short flood; sent: what the kernel took.
    expect(after.bytesRead - before.bytesRead).toBeLessThan(sent / 4);
    bridge.socket.close();
  });
});
