// The guard's parts on their own: token bucket, caps, the auth-failure ban window, address
// keys, a GuardedConnection around a fake connection (pause/resume, progress watch), the
// frame gate of WebSocket connections (held frames, the queue bound), and admissions of
// BOSH sessions and WebSockets (counted per transport, released once).

import { describe, expect, test } from 'bun:test';
import { TokenBucket } from '../../server/guard/token-bucket.ts';
import { ConnectionCaps } from '../../server/guard/connection-caps.ts';
import { AuthFailureBans } from '../../server/guard/auth-bans.ts';
import { addressKey } from '../../server/guard/address-key.ts';
import { GuardedConnection, type CutReason } from '../../server/guard/guarded-connection.ts';
import { ConnectionGuard } from '../../server/guard/guard.ts';
import { FrameGate } from '../../server/guard/frame-gate.ts';
import type { ConnectionEvents, TcpConnection, TlsInfo } from '../../server/runtime/types.ts';

describe('token bucket', () => {
  test('a burst is free, then the debt says how long to wait at the rate', () => {
    const b = new TokenBucket(1000, 2000, 0);
    expect(b.take(2000, 0)).toBe(0);
    expect(b.take(500, 0)).toBe(500);
    // 500 ms later the debt is repaid; one more byte is 1 ms of debt.
    expect(b.take(0, 500)).toBe(0);
    expect(b.take(1, 500)).toBe(1);
  });

  test('refill never exceeds the burst', () => {
    const b = new TokenBucket(10, 100, 0);
    expect(b.available(1_000_000)).toBe(100);
  });

  test('debtMs says how long until the bucket is out of debt, without taking anything', () => {
    const b = new TokenBucket(1000, 1000, 0);
    expect(b.debtMs(0)).toBe(0);
    b.take(1500, 0);
    expect(b.debtMs(0)).toBe(500);
    expect(b.debtMs(250)).toBe(250);
    expect(b.debtMs(500)).toBe(0);
  });

  test('a zero rate is refused', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
  });
});

describe('connection caps', () => {
  test('per-IP cap, total cap, and release', () => {
    const caps = new ConnectionCaps(3, 2);
    expect(caps.admit('a')).toBeUndefined();
    expect(caps.admit('a')).toBeUndefined();
    expect(caps.admit('a')).toBe('per-ip');
    expect(caps.admit('b')).toBeUndefined();
    expect(caps.admit('c')).toBe('total');
    caps.release('a');
    expect(caps.admit('c')).toBeUndefined();
    expect(caps.total).toBe(3);
    caps.release('a');
    caps.release('b');
    caps.release('c');
    expect(caps.total).toBe(0);
    expect(caps.addresses).toBe(0);
  });

  test('releasing an address never admitted changes nothing', () => {
    const caps = new ConnectionCaps(1, 1);
    caps.release('ghost');
    expect(caps.total).toBe(0);
    expect(caps.admit('x')).toBeUndefined();
    expect(caps.admit('y')).toBe('total');
  });
});

describe('auth-failure ban window', () => {
  const options = { threshold: 3, windowMs: 1000, banMs: 5000, maxTracked: 100 };

  test('threshold failures within the window ban for banMs, then the address is free', () => {
    const bans = new AuthFailureBans(options);
    expect(bans.recordFailure('ip', 0)).toBe(false);
    expect(bans.recordFailure('ip', 10)).toBe(false);
    expect(bans.bannedFor('ip', 20)).toBe(0);
    expect(bans.recordFailure('ip', 20)).toBe(true);
    expect(bans.bannedFor('ip', 21)).toBe(4999);
    expect(bans.bannedFor('other', 21)).toBe(0);
    expect(bans.bannedFor('ip', 5020)).toBe(0);
  });

  test('failures spread wider than the window never ban', () => {
    const bans = new AuthFailureBans(options);
    for (let t = 0; t < 100_000; t += 600) expect(bans.recordFailure('ip', t)).toBe(false);
    expect(bans.bannedFor('ip', 100_000)).toBe(0);
  });

  test('memory is bounded: at most maxTracked addresses are remembered', () => {
    const bans = new AuthFailureBans({ ...options, maxTracked: 50 });
    for (let i = 0; i < 10_000; i++) bans.recordFailure(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(bans.tracked).toBe(50);
  });

  test('failures during a ban do not extend it', () => {
    const bans = new AuthFailureBans(options);
    for (let i = 0; i < 3; i++) bans.recordFailure('ip', 0);
    expect(bans.recordFailure('ip', 100)).toBe(false);
    expect(bans.bannedFor('ip', 5000)).toBe(0);
  });
});

describe('address keys', () => {
  test('IPv4 and IPv4-mapped IPv6 are the same address', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });

  test('IPv6 addresses count by their /64', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

/** A connection double: records pause/resume, lets the test push bytes and close. */
class FakeConnection implements TcpConnection {
  remoteAddress = '192.0.2.1';
  remotePort = 1;
  localPort = 2;
  tls: TlsInfo | undefined;
  queuedBytes = 0;
  paused = false;
  pauses = 0;
  destroyed = false;
  written: string[] = [];
  events: ConnectionEvents | undefined;
  attach(events: ConnectionEvents): void { this.events = events; }
  write(data: Uint8Array | string): number { this.written.push(String(data)); return 0; }
  startTls(): Promise<TlsInfo> { return Promise.reject(new Error('no TLS')); }
  end(): void { this.events?.close(); }
  destroy(): void { this.destroyed = true; this.events?.close(); }
  pause(): void { this.paused = true; this.pauses++; }
  resume(): void { this.paused = false; }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function wrap(inner: FakeConnection, options: Partial<ConstructorParameters<typeof GuardedConnection>[1]> = {}) {
  const cuts: CutReason[] = [];
  let closed = 0;
  const received: number[] = [];
  const conn = new GuardedConnection(inner, {
    preauthIdleTimeoutMs: 0,
    preauthMinRate: 0,
    onCut: (r) => cuts.push(r),
    onClosed: () => closed++,
    ...options,
  });
  conn.attach({ data: (b) => received.push(b.length), drain: () => {}, close: () => {} });
  return { conn, cuts, received, closed: () => closed };
}

describe('guarded connection', () => {
  test('the shaper pauses reading when the bucket is in debt and resumes once repaid; nothing is held back', async () => {
    const inner = new FakeConnection();
    const { received } = wrap(inner, { shaperRate: 10_000 });
    inner.events!.data(new Uint8Array(4096));
    expect(inner.paused).toBe(false);
    inner.events!.data(new Uint8Array(10_500));
    expect(inner.paused).toBe(true);
    // Bytes already read are still handed on while paused.
    inner.events!.data(new Uint8Array(100));
    expect(received).toEqual([4096, 10_500, 100]);
    expect(inner.pauses).toBe(1);
    await sleep(1200);
    expect(inner.paused).toBe(false);
  });

  test('without a shaper nothing is paused', () => {
    const inner = new FakeConnection();
    wrap(inner);
    for (let i = 0; i < 100; i++) inner.events!.data(new Uint8Array(65536));
    expect(inner.pauses).toBe(0);
  });

  test('silence before authentication is cut as idle', async () => {
    const inner = new FakeConnection();
    const { cuts } = wrap(inner, { preauthIdleTimeoutMs: 150 });
    await sleep(400);
    expect(cuts).toEqual(['idle']);
  });

  test('a trickle below the minimum rate is cut as too slow', async () => {
    const inner = new FakeConnection();
    const { cuts } = wrap(inner, { preauthIdleTimeoutMs: 200, preauthMinRate: 1000 });
    const timer = setInterval(() => inner.events?.data(new Uint8Array(1)), 40);
    await sleep(600);
    clearInterval(timer);
    expect(cuts).toEqual(['too-slow']);
  });

  test('after authentication the watch stops', async () => {
    const inner = new FakeConnection();
    const { conn, cuts } = wrap(inner, { preauthIdleTimeoutMs: 100, preauthMinRate: 1000 });
    conn.markAuthenticated();
    await sleep(350);
    expect(cuts).toEqual([]);
  });

  test('a cut connection that does not close is destroyed after a grace period', async () => {
    const inner = new FakeConnection();
    const { cuts, closed } = wrap(inner, { preauthIdleTimeoutMs: 100 });
    await sleep(2500);
    expect(cuts).toEqual(['idle']);
    expect(inner.destroyed).toBe(true);
    expect(closed()).toBe(1);
  });
});

describe('connection guard', () => {
  const settings = {
    maxConnections: 2, maxConnectionsPerIp: 1, authFailuresPerIp: 2, authFailureWindowMs: 60_000,
    banMs: 60_000, preauthIdleTimeoutMs: 0, preauthMinRate: 0, maxTrackedAddresses: 10,
  };

  test('refusals write a stream error and end the connection; closing counts a connection out', () => {
    const guard = new ConnectionGuard(settings);
    const a = new FakeConnection();
    const first = guard.accept(a, { onCut: () => {} })!;
    first.attach({ data: () => {}, drain: () => {}, close: () => {} });
    const again = new FakeConnection();
    expect(guard.accept(again, { onCut: () => {} })).toBeUndefined();
    expect(again.written.join('')).toContain('<policy-violation');
    const b = new FakeConnection();
    b.remoteAddress = '192.0.2.2';
    expect(guard.accept(b, { onCut: () => {} })).toBeDefined();
    const c = new FakeConnection();
    c.remoteAddress = '192.0.2.3';
    expect(guard.accept(c, { onCut: () => {} })).toBeUndefined();
    expect(c.written.join('')).toContain('<resource-constraint');
    a.events!.close();
    a.events!.close();
    expect(guard.stats().open).toBe(1);
    expect(guard.stats().refused).toEqual({ total: 1, 'per-ip': 1, banned: 0 });
  });

  test('auth failures ban the address; forgive lifts it', () => {
    const guard = new ConnectionGuard(settings);
    guard.recordAuthFailure('192.0.2.9');
    guard.recordAuthFailure('::ffff:192.0.2.9');
    expect(guard.bannedFor('192.0.2.9')).toBeGreaterThan(0);
    const conn = new FakeConnection();
    conn.remoteAddress = '192.0.2.9';
    expect(guard.accept(conn, { onCut: () => {} })).toBeUndefined();
    expect(conn.written.join('')).toContain('too many failed authentication attempts');
    guard.forgive('192.0.2.9');
    expect(guard.accept(conn, { onCut: () => {} })).toBeDefined();
  });
});

describe('frame gate', () => {
  function gate(options: Partial<ConstructorParameters<typeof FrameGate>[0]> = {}) {
    const delivered: string[] = [];
    const cuts: CutReason[] = [];
    let overflows = 0;
    const g = new FrameGate({
      maxHeldBytes: 10_000,
      maxHeldFrames: 10,
      preauthIdleTimeoutMs: 0,
      preauthMinRate: 0,
      deliver: (f) => delivered.push(String(f)),
      onCut: (r) => cuts.push(r),
      onOverflow: () => overflows++,
      ...options,
    });
    return { g, delivered, cuts, overflows: () => overflows };
  }
  const frame = (i: number, size = 1000) => `${i}`.padEnd(size, ' ');

  test('without a shaper every frame passes at once', () => {
    const { g, delivered } = gate();
    for (let i = 0; i < 100; i++) g.message(frame(i, 60_000));
    expect(delivered.length).toBe(100);
  });

  test('frames beyond the burst are held, then handed on in order as the bucket refills', async () => {
    const { g, delivered, overflows } = gate({ shaperRate: 10_000 });
    // Burst 10,000 bytes: ten frames pass, the eleventh puts the bucket in debt, the rest wait.
    for (let i = 0; i < 15; i++) g.message(frame(i));
    expect(delivered.length).toBe(11);
    expect(g.queued).toEqual({ frames: 4, bytes: 4000 });
    await sleep(700);
    expect(delivered.map((f) => Number(f.trim()))).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(g.queued.frames).toBe(0);
    expect(overflows()).toBe(0);
  });

  test('the queue bound, in frames or in bytes, ends the gate once; nothing held is handed on afterwards', async () => {
    const byFrames = gate({ shaperRate: 4096, maxHeldFrames: 3 });
    for (let i = 0; i < 20; i++) byFrames.g.message(frame(i));
    expect(byFrames.overflows()).toBe(1);
    const delivered = byFrames.delivered.length;
    await sleep(1200);
    expect(byFrames.delivered.length).toBe(delivered);
    expect(byFrames.g.queued).toEqual({ frames: 0, bytes: 0 });

    const byBytes = gate({ shaperRate: 4096, maxHeldBytes: 2500 });
    for (let i = 0; i < 8; i++) byBytes.g.message(frame(i));
    expect(byBytes.overflows()).toBe(1);
  });

  test('multi-byte text counts in UTF-8 bytes', () => {
    const { g, delivered } = gate({ shaperRate: 4096 });
    const text = 'é'.repeat(1500); // 1500 UTF-16 units, 3000 bytes
    g.message(text);
    g.message(text); // 1096 bytes left: it passes, and leaves the bucket about 1900 bytes in debt
    g.message('z'); // held (counted in UTF-16 units the bucket would still hold 1096)
    expect(delivered).toEqual([text, text]);
    expect(g.queued.frames).toBe(1);
    g.end();
  });

  test('silence before authentication is cut as idle; time frames are held does not count as silence; authentication stops the watch', async () => {
    const idle = gate({ preauthIdleTimeoutMs: 150 });
    await sleep(400);
    expect(idle.cuts).toEqual(['idle']);

    const held = gate({ preauthIdleTimeoutMs: 200, shaperRate: 4096 });
    held.g.message(frame(0, 4096));
    held.g.message(frame(1, 4096)); // passes, and leaves a second of debt
    held.g.message(frame(2, 10)); // held for that second
    await sleep(600);
    expect(held.g.queued.frames).toBe(1);
    expect(held.cuts).toEqual([]);
    held.g.end();

    const authed = gate({ preauthIdleTimeoutMs: 100 });
    authed.g.markAuthenticated();
    await sleep(300);
    expect(authed.cuts).toEqual([]);
  });
});

describe('admissions of BOSH sessions and WebSockets', () => {
  const settings = {
    maxConnections: 3, maxConnectionsPerIp: 2, authFailuresPerIp: 2, authFailureWindowMs: 60_000,
    banMs: 60_000, preauthIdleTimeoutMs: 0, preauthMinRate: 0, maxTrackedAddresses: 10,
  };

  test('admitted units share the caps with TCP connections, count per transport, and are released once', () => {
    const refusals: string[] = [];
    const guard = new ConnectionGuard(settings, { refused: (_ip, why, transport) => refusals.push(`${why}/${transport}`) });
    const a = guard.admit('192.0.2.1', 'bosh');
    const b = guard.admit('192.0.2.1', 'websocket');
    expect(a.ok && b.ok).toBe(true);
    const c = guard.admit('192.0.2.1', 'bosh');
    expect(c).toEqual({ ok: false, refusal: 'per-ip', condition: 'policy-violation', text: 'too many connections from your address' });
    const tcp = new FakeConnection();
    tcp.remoteAddress = '192.0.2.2';
    expect(guard.accept(tcp, { onCut: () => {} })).toBeDefined();
    const d = guard.admit('192.0.2.3', 'websocket');
    expect(d.ok === false && d.condition).toBe('resource-constraint');
    expect(guard.stats().openByTransport).toEqual({ c2s: 1, bosh: 1, websocket: 1, component: 0 });
    if (a.ok) { a.ticket.release(); a.ticket.release(); }
    expect(guard.stats().openByTransport.bosh).toBe(0);
    expect(guard.stats().open).toBe(2);
    expect(refusals).toEqual(['per-ip/bosh', 'total/websocket']);
  });

  test('a banned address is refused whatever the transport; a component refusal speaks the component namespace', () => {
    const guard = new ConnectionGuard(settings);
    guard.recordAuthFailure('192.0.2.9', 'websocket');
    guard.recordAuthFailure('192.0.2.9', 'component');
    const bosh = guard.admit('192.0.2.9', 'bosh');
    expect(bosh.ok === false && bosh.refusal).toBe('banned');
    const conn = new FakeConnection();
    conn.remoteAddress = '192.0.2.9';
    expect(guard.accept(conn, { transport: 'component', onCut: () => {} })).toBeUndefined();
    expect(conn.written.join('')).toMatch(/^<\?xml version='1.0'\?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http:\/\/etherx.jabber.org\/streams'><stream:error><policy-violation/);
    expect(guard.stats().open).toBe(0);
  });
});
