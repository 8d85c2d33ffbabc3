// Regression for the MongooseIM 2.2 error loop (PR #1800): errors answered with errors and
// bounced back and forth until the node ran out of memory. Two deliberately bad modules
// rebuild it here — one turns every error it sees into a new error to the sender, the other
// sends everything addressed to it back where it came from — and the core must end the
// storm with bounded work, at most one log line, and nothing left behind.

import { describe, expect, test } from 'bun:test';
import { defineModule, type ModuleDefinition } from '../../../server/core/registry.ts';
import { Packet } from '../../../server/core/packet.ts';
import type { Core } from '../../../server/core/node.ts';
import { jidCacheSize } from '../../../server/jid.ts';
import { Element } from '../../../server/xml/element.ts';
import { Hooks } from '../../../server/core/hooks.ts';
import { Router } from '../../../server/core/router.ts';
import { SessionManager } from '../../../server/core/sessions.ts';
import { Logger } from '../../../server/log.ts';
import { FakeSession, packet, testCore } from './fakes.ts';

const noOptions = { parse: () => ({}) };
const USERS = new Set(['alice@example.com', 'bouncer@example.com']);

/** Sees every error routed to a local address and answers it with a fresh error of its own. */
function errorEcho(options: { derive: boolean; queue?: Array<() => void> }): ModuleDefinition<unknown> {
  return defineModule({
    name: 'mod_error_echo',
    defaults: {},
    schema: noOptions,
    start(_host, _opts, ctx) {
      ctx.addHook('filter_local_packet', ({ packet: p }) => {
        if (p.type !== 'error') return;
        // Built by hand, so the core's refusal in errorReplyFor cannot save us.
        const el = new Element(p.kind, { from: p.to.toString(), to: p.from.toString(), type: 'error' });
        el.c('error', { type: 'cancel' }).c('undefined-condition', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
        const send = () => ctx.route(options.derive ? Packet.derive(p, el) : Packet.fromElement(el));
        if (options.queue) options.queue.push(send);
        else send();
      });
    },
  });
}

/** Sends every stanza addressed to bouncer@example.com straight back, error or not. */
function bouncer(options: { derive: boolean; queue?: Array<() => void> }): ModuleDefinition<unknown> {
  return defineModule({
    name: 'mod_bouncer',
    defaults: {},
    schema: noOptions,
    start(_host, _opts, ctx) {
      ctx.addHook('filter_local_packet', ({ packet: p }) => {
        if (p.to.bare().toString() !== 'bouncer@example.com') return;
        const el = p.element().clone();
        el.attrs.from = p.to.toString();
        el.attrs.to = p.from.toString();
        const send = () => ctx.route(options.derive ? Packet.derive(p, el) : Packet.fromElement(el));
        if (options.queue) options.queue.push(send);
        else send();
        return 'stop';
      }, 10);
    },
  });
}

async function storm(modules: ModuleDefinition<unknown>[]): Promise<{ core: Core; alice: FakeSession; logs: Array<Record<string, unknown>> }> {
  const { core, logs } = testCore({ userExists: (j) => USERS.has(j.toString()), modules });
  await core.registry.start({ modules: { 'example.com': { mod_error_echo: { value: {} }, mod_bouncer: { value: {} } } } });
  const alice = new FakeSession('alice@example.com/r');
  core.sessions.open(alice);
  return { core, alice, logs };
}

const hopLogs = (logs: Array<Record<string, unknown>>) => logs.filter((l) => l.what === 'route_hop_limit_exceeded');

describe('error loops end (security rule 5)', () => {
  test('the core alone: an error to a sender that does not exist is not answered', () => {
    const { core, logs } = testCore({ userExists: () => false });
    core.router.route(packet("<message from='ghost1@example.com/x' to='ghost2@example.com' type='chat'><body>x</body></message>"));
    expect(core.router.stats).toEqual({ routed: 2, delivered: 0, bounced: 1, hopLimitDrops: 0 });
    expect(logs).toEqual([]);
  });

  test('synchronous echo and bounce: cut at the hop budget with one log line, even for careless modules', async () => {
    const { core, alice, logs } = await storm([errorEcho({ derive: false }), bouncer({ derive: false })]);
    core.router.route(packet("<message from='alice@example.com/r' to='bouncer@example.com' type='error'><error type='cancel'/></message>"));
    const stats = { ...core.router.stats };
    expect(stats.hopLimitDrops).toBe(1);
    expect(stats.routed).toBeLessThanOrEqual(core.router.maxHops);
    expect(alice.sent.length).toBeLessThanOrEqual(core.router.maxHops);
    expect(hopLogs(logs)).toHaveLength(1);
    expect(hopLogs(logs)[0]).toMatchObject({ level: 'warning', hops: core.router.maxHops, suppressed: 0 });

    // Again and again: the work per trigger is constant, the log stays at one line, nothing accumulates.
    const sentBefore = alice.sent.length;
    const jidsBefore = jidCacheSize();
    for (let i = 0; i < 500; i++) {
      core.router.route(packet("<message from='alice@example.com/r' to='bouncer@example.com' type='error'><error type='cancel'/></message>"));
    }
    expect(core.router.stats.hopLimitDrops).toBe(501);
    expect(core.router.stats.routed).toBe(stats.routed * 501);
    expect(alice.sent.length - sentBefore).toBe(sentBefore * 500);
    expect(hopLogs(logs)).toHaveLength(1);
    expect(logs).toHaveLength(1);
    expect(jidCacheSize()).toBe(jidsBefore);
    expect(core.iq.pendingCount).toBe(0);
    expect(core.sessions.size).toBe(1);
  });

  test('through a queue: derived packets carry the hop count, the queue drains and stays small', async () => {
    const queue: Array<() => void> = [];
    const { core, logs } = await storm([errorEcho({ derive: true, queue }), bouncer({ derive: true, queue })]);
    core.router.route(packet("<message from='alice@example.com/r' to='bouncer@example.com' type='error'><error type='cancel'/></message>"));
    let steps = 0;
    let longest = 0;
    while (queue.length > 0) {
      longest = Math.max(longest, queue.length);
      queue.shift()!();
      steps++;
      expect(steps).toBeLessThanOrEqual(4 * core.router.maxHops); // a runaway fails here, not by timing out
    }
    expect(longest).toBeLessThanOrEqual(2);
    expect(core.router.stats.hopLimitDrops).toBe(1);
    expect(core.router.stats.routed).toBeLessThanOrEqual(2 * core.router.maxHops);
    expect(hopLogs(logs)).toHaveLength(1);
  });

  test('the hop-limit log is rate limited per interval and reports what it suppressed', () => {
    let now = 0;
    const lines: Array<Record<string, unknown>> = [];
    const hooks = new Hooks();
    const router = new Router({
      hooks,
      sessions: new SessionManager(hooks),
      hosts: ['example.com'],
      maxHops: 4,
      logIntervalMs: 1000,
      now: () => now,
      logger: new Logger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    });
    const looping = () => {
      const p = packet("<message from='alice@example.com/r' to='alice@example.com' type='headline'/>");
      p.hops = 4;
      router.route(p);
    };
    for (let i = 0; i < 10; i++) looping();
    now = 1500;
    looping();
    expect(router.stats.hopLimitDrops).toBe(11);
    expect(router.stats.routed).toBe(0);
    expect(lines.map((l) => [l.what, l.suppressed])).toEqual([['route_hop_limit_exceeded', 0], ['route_hop_limit_exceeded', 9]]);
  });
});
