// SmSessionState on its own: counters (and their wrap at 2^32), the unacked buffer, ack
// requests, the h rules, hibernation and expiry, takeover, and where unacknowledged stanzas
// go when a session ends — routed through a real core to other resources, offline storage
// or back to the sender.

import { describe, expect, test } from 'bun:test';
import { SmSessionState, type SmSettings } from '../../../modules/mod_stream_management/session-state.ts';
import { parseH } from '../../../modules/mod_stream_management/protocol.ts';
import { modOffline } from '../../../modules/mod_offline.ts';
import { modCsi } from '../../../modules/mod_csi.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import type { SessionOwner } from '../../../server/streams/c2s-env.ts';
import type { SmStreamLink } from '../../../server/streams/stream-management.ts';
import type { Element } from '../../../server/xml/element.ts';
import { Logger } from '../../../server/log.ts';
import { FakeSession } from '../core/fakes.ts';
import { HOST, imHarness, errorCondition, type ImHarness } from './im-harness.ts';

const NS_SM = 'urn:xmpp:sm:3';

/** A session whose writes go to whichever owner it has (the stream, or the SM buffer). */
class OwnedSession extends FakeSession {
  owner: SessionOwner | undefined;
  attach(owner: SessionOwner): void {
    this.owner = owner;
  }
  override send(packet: Parameters<FakeSession['send']>[0]): void {
    if (this.owner) this.owner.deliver(packet.bytesFor({ from: packet.from, to: packet.to }));
    else super.send(packet);
  }
  override close(error?: Parameters<FakeSession['close']>[0]): void {
    if (this.owner) this.owner.closeWith(error?.condition ?? 'reset', error?.text);
    else super.close(error);
  }
}

interface FakeLink extends SmStreamLink {
  written: string[];
  failures: Array<{ condition: string; text?: string; app?: Element }>;
  unbound: string[];
  takenOverCalls: number;
  counts: string[];
}

function fakeLink(h: ImHarness): FakeLink {
  const link: FakeLink = {
    written: [],
    failures: [],
    unbound: [],
    takenOverCalls: 0,
    counts: [],
    write: (data) => link.written.push(typeof data === 'string' ? data : new TextDecoder().decode(data)),
    fail: (condition, text, app) => link.failures.push({ condition, text, app }),
    takenOver: () => link.takenOverCalls++,
    unbind: (session, reason) => {
      link.unbound.push(reason);
      h.core.sessions.remove(session as OwnedSession, reason);
    },
    count: (what, labels) => link.counts.push(labels ? `${what}:${Object.values(labels).join(',')}` : what),
  };
  return link;
}

const settings: SmSettings = { resumeTimeoutMs: 60_000, maxUnacked: 5, ackRequestEvery: 3, ackRequestDelayMs: 60_000 };

async function setup(options: { resumeSeconds?: number; settings?: Partial<SmSettings> } = {}) {
  const h = await imHarness([modOffline, modCsi] as ModuleDefinition<unknown>[]);
  const alice = new OwnedSession('alice@example.com/phone');
  h.core.sessions.open(alice);
  const link = fakeLink(h);
  const ended: SmSessionState[] = [];
  const state = new SmSessionState(alice, 'the-id', options.resumeSeconds ?? 60, link, { ...settings, ...options.settings }, {
    host: HOST,
    router: h.core.router,
    log: new Logger('error', () => {}),
    ended: (s) => ended.push(s),
  });
  return { h, alice, link, state, ended };
}

const message = (n: number) => `<message from='bob@example.com/a' to='alice@example.com/phone' type='chat' id='m${n}'><body>m${n}</body></message>`;

describe('parseH', () => {
  test('accepts unsigned 32-bit decimals only', () => {
    expect(parseH('0')).toBe(0);
    expect(parseH('4294967295')).toBe(4294967295);
    expect(parseH('4294967296')).toBeUndefined();
    expect(parseH('-1')).toBeUndefined();
    expect(parseH('1e3')).toBeUndefined();
    expect(parseH(undefined)).toBeUndefined();
  });
});

describe('SmSessionState', () => {
  test('counts handled stanzas for <a/>, and the count wraps at 2^32', async () => {
    const { state } = await setup();
    state.handled();
    state.handled();
    expect(state.answerAckRequest()).toBe(`<a xmlns='${NS_SM}' h='2'/>`);
    const internals = state as unknown as { handledCount: number };
    internals.handledCount = 4294967295;
    state.handled();
    expect(state.answerAckRequest()).toBe(`<a xmlns='${NS_SM}' h='0'/>`);
  });

  test('writes each stanza, asks for an ack every ack_request_every, and forgets what is acknowledged', async () => {
    const { state, link } = await setup();
    for (let i = 0; i < 3; i++) state.send(message(i));
    expect(link.written).toEqual([message(0), message(1), message(2), `<r xmlns='${NS_SM}'/>`]);
    expect(state.unacked).toBe(3);
    state.acknowledged('2');
    expect(state.unacked).toBe(1);
    state.acknowledged('3');
    expect(state.unacked).toBe(0);
    expect(link.failures).toEqual([]);
  });

  test('acknowledgements across the 2^32 wrap', async () => {
    const { state } = await setup();
    const internals = state as unknown as { sentCount: number; ackedCount: number };
    internals.sentCount = 4294967294;
    internals.ackedCount = 4294967294;
    for (let i = 0; i < 4; i++) state.send(message(i));
    expect(state.sent).toBe(2);
    state.acknowledged('0');
    expect(state.unacked).toBe(2);
    state.acknowledged('2');
    expect(state.unacked).toBe(0);
  });

  test('an h above what was sent fails the stream with handled-count-too-high; a malformed h is invalid-xml', async () => {
    const { state, link } = await setup();
    state.send(message(0));
    state.acknowledged('2');
    expect(link.failures[0]!.condition).toBe('undefined-condition');
    expect(link.failures[0]!.app!.toString()).toBe(`<handled-count-too-high xmlns='${NS_SM}' h='2' send-count='1'/>`);
    expect(state.unacked).toBe(1);
    state.acknowledged('x');
    expect(link.failures[1]!.condition).toBe('invalid-xml');
  });

  test('one stanza over max_unacked ends a connected stream with resource-constraint, without writing it', async () => {
    const { state, link } = await setup();
    for (let i = 0; i < 6; i++) state.send(message(i));
    expect(link.failures.map((f) => f.condition)).toEqual(['resource-constraint']);
    expect(link.written.filter((w) => w.startsWith('<message'))).toHaveLength(5);
    expect(state.unacked).toBe(6);
  });

  test('a clean end unbinds and reroutes unacked messages to offline storage, with <delay/>', async () => {
    const { h, state, link, ended } = await setup();
    state.send(message(0));
    state.send(message(1));
    state.acknowledged('1');
    expect(state.end(false, 'stream closed by client')).toBe(false);
    expect(link.unbound).toEqual(['stream closed by client']);
    expect(ended).toEqual([state]);
    await h.settle();
    const back = h.connect('alice@example.com/desktop');
    await h.settle();
    const got = h.received(back).filter((e) => e.localName === 'message');
    expect(got.map((e) => e.attrs.id)).toEqual(['m1']);
    expect(got[0]!.getChild('delay', 'urn:xmpp:delay')).toBeDefined();
    expect(link.counts).toContain('sm_unacked:rerouted');
  });

  test('unacked messages go to another available resource when there is one; IQs bounce; presence is dropped', async () => {
    const { h, state } = await setup();
    const laptop = h.connect('alice@example.com/laptop');
    const bob = h.connect('bob@example.com/a');
    state.send(message(7));
    state.send(`<iq from='bob@example.com/a' to='alice@example.com/phone' type='get' id='q1'><query xmlns='jabber:iq:version'/></iq>`);
    state.send(`<presence from='bob@example.com/a' to='alice@example.com/phone'/>`);
    state.end(false, 'closed');
    const onLaptop = h.received(laptop).filter((e) => e.localName !== 'presence');
    expect(onLaptop.map((e) => e.attrs.id)).toEqual(['m7']);
    const bounced = h.received(bob).find((e) => e.attrs.id === 'q1')!;
    expect(bounced.attrs.type).toBe('error');
    expect(errorCondition(bounced)).toBe('service-unavailable');
    expect(h.received(laptop).filter((e) => e.localName === 'presence' && e.attrs.from === 'bob@example.com/a')).toEqual([]);
  });

  test('a lost connection hibernates: the session stays bound and buffers; expiry reroutes everything', async () => {
    const { h, alice, state, link } = await setup({ resumeSeconds: 1 });
    state.send(message(0));
    expect(state.end(true, 'connection closed')).toBe(true);
    expect(state.hibernating).toBe(true);
    expect(alice.owner).toBe(state);
    expect(h.core.sessions.get(alice.jid)).toBe(alice);
    h.inject(message(1));
    expect(state.unacked).toBe(2);
    expect(link.written.filter((w) => w.includes('m1'))).toEqual([]);
    // A ping timeout on a hibernating session changes nothing.
    state.closeWith('connection-timeout');
    expect(state.hibernating).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(state.isFinished).toBe(true);
    expect(h.core.sessions.get(alice.jid)).toBeUndefined();
    expect(link.counts).toContain('sm_resume_timeouts');
    const back = h.connect('alice@example.com/desktop');
    await h.settle();
    expect(h.received(back).filter((e) => e.localName === 'message').map((e) => e.attrs.id)).toEqual(['m0', 'm1']);
  });

  test('a hibernating session replaced by a new bind ends at once and reroutes', async () => {
    const { h, state, link } = await setup();
    state.send(message(0));
    state.end(true, 'connection closed');
    h.core.sessions.open(new FakeSession('alice@example.com/phone', { available: false }));
    expect(state.isFinished).toBe(true);
    expect(link.unbound).toEqual(['conflict']);
  });

  test('takeOver returns what the client h did not cover, in order, and closes a still-open old stream', async () => {
    const { state, link } = await setup();
    for (let i = 0; i < 4; i++) state.send(message(i));
    expect(state.acceptsResumeH(5)).toBe(false);
    expect(state.acceptsResumeH(1)).toBe(true);
    const next = fakeLink((await setup()).h);
    const resend = state.takeOver(next, 1);
    expect(link.takenOverCalls).toBe(1);
    expect(resend).toEqual([message(1), message(2), message(3)]);
    // From now on the new link writes.
    state.send(message(4));
    expect(next.written[0]).toBe(message(4));
  });
});
