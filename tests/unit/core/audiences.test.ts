// Router.deliverToAudience and routeAudienceFromPeer, the copy roles of forwarded fan-out, and
// the notices between workers — in one process, with the other workers played by a
// PeerSessions double that records what would cross a worker link.

import { expect, test } from 'bun:test';
import { AVAILABLE_RESOURCES, builtInAudience } from '../../../server/core/audiences.ts';
import type { Packet } from '../../../server/core/packet.ts';
import type { AudienceOptions, ForwardedCopy, PeerSession, PeerSessions } from '../../../server/core/router.ts';
import { WorkerNotices } from '../../../server/core/worker-notices.ts';
import { defineModule } from '../../../server/core/registry.ts';
import { parseJid, type Jid } from '../../../server/jid.ts';
import { Logger } from '../../../server/log.ts';
import { FakeSession, packet, testCore } from './fakes.ts';

interface Forwarded {
  to: string;
  copy: ForwardedCopy;
  hops: number;
}

interface ToAudience {
  user: string;
  audience: string;
  except: string[];
  keepTo: boolean;
  hops: number;
}

/** Another worker's sessions, and what this process handed to it. */
function fakePeers(entries: Array<{ jid: string; priority?: number; available?: boolean }>) {
  const list: PeerSession[] = entries.map((e) => ({ jid: parseJid(e.jid), priority: e.priority ?? 0, available: e.available ?? true }));
  const forwarded: Forwarded[] = [];
  const toAudience: ToAudience[] = [];
  const peers: PeerSessions = {
    resources: (bare: Jid) => list.filter((p) => p.jid.bare().equals(bare.bare())),
    get: (full: Jid) => list.find((p) => p.jid.equals(full)),
    forward: (session: PeerSession, p: Packet, copy: ForwardedCopy) => forwarded.push({ to: session.jid.toString(), copy, hops: p.hops }),
    forwardToAudience: (user: Jid, audience: string, p: Packet, options: AudienceOptions) => toAudience.push({
      user: user.toString(), audience, except: (options.except ?? []).map(String), keepTo: options.keepTo === true, hops: p.hops,
    }),
  };
  return { peers, forwarded, toAudience };
}

function setup() {
  const { core, logs } = testCore({ hosts: ['example.com'] });
  const flagged = new WeakSet<FakeSession>();
  const audience = core.router.audiences.define('example.com', 'flagged', (s) => flagged.has(s as FakeSession)).audience;
  const bind = (jid: string, options: { flagged?: boolean; priority?: number } = {}): FakeSession => {
    const s = new FakeSession(jid, { priority: options.priority ?? 0 });
    core.sessions.open(s);
    if (options.flagged) flagged.add(s);
    return s;
  };
  return { core, logs, audience, bind };
}

const push = () => packet("<iq from='bob@example.com' to='bob@example.com' type='set' id='push-1'><query xmlns='jabber:iq:roster'/></iq>");

test('only the sessions in the audience get it, each addressed to its full JID, minus the ones left out', () => {
  const { core, audience, bind } = setup();
  const desk = bind('bob@example.com/desk', { flagged: true });
  const phone = bind('bob@example.com/phone', { flagged: true });
  const tablet = bind('bob@example.com/tablet');
  const other = bind('carol@example.com/x', { flagged: true });
  core.router.deliverToAudience(parseJid('bob@example.com'), audience, push(), { except: [parseJid('bob@example.com/phone')] });
  expect(desk.wire).toEqual(["<iq from='bob@example.com' to='bob@example.com/desk' type='set' id='push-1'><query xmlns='jabber:iq:roster'/></iq>"]);
  expect(phone.sent).toHaveLength(0);
  expect(tablet.sent).toHaveLength(0);
  expect(other.sent).toHaveLength(0);

  // keepTo: the stanza as addressed (a subscription request to the bare JID).
  core.router.deliverToAudience(parseJid('bob@example.com'), audience, push(), { keepTo: true });
  expect(desk.wire[1]).toContain("to='bob@example.com'");
  expect(phone.wire[0]).toContain("to='bob@example.com'");
});

test('a stanza given as a function is built once, and only when someone gets it', () => {
  const { core, audience, bind } = setup();
  bind('bob@example.com/desk', { flagged: true });
  bind('bob@example.com/phone', { flagged: true });
  bind('bob@example.com/tablet');
  let built = 0;
  const build = () => {
    built++;
    return push();
  };
  core.router.deliverToAudience(parseJid('bob@example.com'), audience, build);
  expect(built).toBe(1);
  core.router.deliverToAudience(parseJid('bob@example.com'), audience, build, { except: [parseJid('bob@example.com/desk'), parseJid('bob@example.com/phone')] });
  core.router.deliverToAudience(parseJid('nobody@example.com'), audience, build);
  expect(built).toBe(1);
});

test('other workers holding sessions of the account get it once each, with the audience name, for them to judge', () => {
  const { core, audience, bind } = setup();
  const desk = bind('bob@example.com/desk', { flagged: true });
  const { peers, toAudience } = fakePeers([{ jid: 'bob@example.com/phone' }, { jid: 'carol@example.com/x' }]);
  core.router.setPeerSessions(peers);
  let built = 0;
  const build = () => {
    built++;
    return push();
  };
  core.router.deliverToAudience(parseJid('bob@example.com/desk'), audience, build, { except: [parseJid('bob@example.com/tablet')] });
  expect(desk.sent).toHaveLength(1);
  expect(built).toBe(1);
  expect(toAudience).toEqual([{ user: 'bob@example.com', audience: 'flagged', except: ['bob@example.com/tablet'], keepTo: false, hops: 0 }]);

  // Every remote session is left out: nothing crosses, nothing is built for it.
  core.router.deliverToAudience(parseJid('bob@example.com'), audience, build, { except: [parseJid('bob@example.com/desk'), parseJid('bob@example.com/phone')] });
  expect(toAudience).toHaveLength(1);
  expect(built).toBe(1);

  // Only remote sessions: built for them.
  core.router.deliverToAudience(parseJid('carol@example.com'), audience, build);
  expect(built).toBe(2);
  expect(toAudience.map((t) => t.user)).toEqual(['bob@example.com', 'carol@example.com']);
});

test('a stanza handed over by another worker reaches the audience here and goes no further', () => {
  const { core, logs, audience, bind } = setup();
  const desk = bind('bob@example.com/desk', { flagged: true });
  const phone = bind('bob@example.com/phone', { flagged: true });
  const tablet = bind('bob@example.com/tablet');
  const { peers, forwarded, toAudience } = fakePeers([{ jid: 'bob@example.com/far' }]);
  core.router.setPeerSessions(peers);
  const p = push();
  p.hops = 3;
  core.router.routeAudienceFromPeer(p, parseJid('bob@example.com'), audience.name, { except: [parseJid('bob@example.com/phone')] });
  expect(desk.wire).toEqual(["<iq from='bob@example.com' to='bob@example.com/desk' type='set' id='push-1'><query xmlns='jabber:iq:roster'/></iq>"]);
  expect(desk.sent[0].hops).toBe(3);
  expect(phone.sent).toHaveLength(0);
  expect(tablet.sent).toHaveLength(0);
  expect(forwarded).toHaveLength(0);
  expect(toAudience).toHaveLength(0);

  // A name this worker does not know (a module stopped here): logged, nothing delivered.
  core.router.routeAudienceFromPeer(push(), parseJid('bob@example.com'), 'no_such_audience', {});
  expect(desk.sent).toHaveLength(1);
  expect(logs.some((l) => l.what === 'audience_unknown' && l.audience === 'no_such_audience')).toBe(true);

  // The hop budget holds here too.
  const looping = push();
  looping.hops = core.router.maxHops;
  core.router.routeAudienceFromPeer(looping, parseJid('bob@example.com'), audience.name, {});
  expect(desk.sent).toHaveLength(1);
  expect(core.router.stats.hopLimitDrops).toBe(1);
});

test('the built-in audience of available resources, and accountResources over both processes', () => {
  const { core, bind } = setup();
  const desk = bind('bob@example.com/desk');
  const away = new FakeSession('bob@example.com/away', { available: false });
  core.sessions.open(away);
  const { peers, toAudience } = fakePeers([{ jid: 'bob@example.com/phone', priority: 3, available: false }]);
  core.router.setPeerSessions(peers);
  core.router.deliverToAudience(parseJid('bob@example.com'), builtInAudience('example.com', AVAILABLE_RESOURCES), push());
  expect(desk.sent).toHaveLength(1);
  expect(away.sent).toHaveLength(0);
  expect(toAudience[0].audience).toBe(AVAILABLE_RESOURCES);
  expect(core.router.accountResources(parseJid('bob@example.com')).map((s) => `${s.jid}:${s.available}`))
    .toEqual(['bob@example.com/desk:true', 'bob@example.com/away:false', 'bob@example.com/phone:false']);
  core.router.setPeerSessions(undefined);
  // One process: the session table's own list.
  expect(core.router.accountResources(parseJid('bob@example.com'))).toBe(core.sessions.resources(parseJid('bob@example.com')));
});

test('bare-JID fan-out over workers: one sole copy, or a first copy and later ones', () => {
  const { core, bind } = setup();
  const desk = bind('bob@example.com/desk', { priority: 5 });
  const { peers, forwarded } = fakePeers([{ jid: 'bob@example.com/phone', priority: 5 }, { jid: 'bob@example.com/tv', priority: 5 }]);
  core.router.setPeerSessions(peers);
  const chat = () => packet("<message from='alice@example.com/r' to='bob@example.com' type='chat'><body>hi</body></message>");
  // Delivered here first: both forwards are later copies.
  core.router.route(chat());
  expect(desk.sent).toHaveLength(1);
  expect(forwarded.map((f) => `${f.to}:${f.copy}`)).toEqual(['bob@example.com/phone:later', 'bob@example.com/tv:later']);

  // Nothing here: the first forward is the first copy.
  forwarded.length = 0;
  desk.priority = 0;
  core.router.route(chat());
  expect(forwarded.map((f) => `${f.to}:${f.copy}`)).toEqual(['bob@example.com/phone:first', 'bob@example.com/tv:later']);

  // A full JID elsewhere: the sole copy.
  forwarded.length = 0;
  core.router.route(packet("<message from='alice@example.com/r' to='bob@example.com/tv' type='chat'><body>hi</body></message>"));
  expect(forwarded.map((f) => `${f.to}:${f.copy}`)).toEqual(['bob@example.com/tv:sole']);
});

test('a later copy arriving from another worker is marked, so once-per-stanza work is skipped', () => {
  const { core, bind } = setup();
  const phone = bind('bob@example.com/phone');
  const seen: boolean[] = [];
  core.hooks.add('user_receive_packet', 'example.com', ({ packet: p }) => { seen.push(p.laterCopy); });
  core.router.routeFromPeer(packet("<message from='alice@example.com/r' to='bob@example.com' type='chat'><body>1</body></message>"), phone.jid, 'first');
  core.router.routeFromPeer(packet("<message from='alice@example.com/r' to='bob@example.com' type='chat'><body>2</body></message>"), phone.jid, 'later');
  expect(seen).toEqual([false, true]);
  expect(phone.sent).toHaveLength(2);
});

test('an audience name is defined once per host, removed with its module, and built-in names are taken', async () => {
  const def = defineModule<Record<string, never>>({
    name: 'mod_flagging',
    defaults: {},
    schema: { parse: () => ({}) },
    start(_host, _opts, ctx) {
      ctx.defineAudience('flagging', () => true);
    },
  });
  const { core } = testCore({ hosts: ['example.com'], modules: [def] });
  await core.registry.start({ modules: { 'example.com': { mod_flagging: { value: {} } } } });
  expect(core.router.audiences.get('example.com', 'flagging')).toBeDefined();
  expect(core.router.audiences.get('other.example', 'flagging')).toBeUndefined();
  expect(() => core.router.audiences.define('example.com', 'flagging', () => false)).toThrow();
  expect(() => core.router.audiences.define('example.com', AVAILABLE_RESOURCES, () => false)).toThrow();
  await core.registry.stop();
  expect(core.router.audiences.get('example.com', 'flagging')).toBeUndefined();
});

test('worker notices: nothing leaves one process; handlers of the host and topic run, a throwing one is logged', () => {
  const lines: Array<Record<string, unknown>> = [];
  const notices = new WorkerNotices(new Logger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)));
  const got: string[] = [];
  notices.publish('example.com', 'changed', 'alice'); // no transport: nobody to tell
  notices.subscribe('example.com', 'changed', () => { throw new Error('boom'); });
  const remove = notices.subscribe('example.com', 'changed', (data) => got.push(`a:${data}`));
  notices.subscribe('other.example', 'changed', (data) => got.push(`other:${data}`));
  notices.subscribe('example.com', 'removed', (data) => got.push(`removed:${data}`));
  notices.receive('example.com', 'changed', 'bob');
  expect(got).toEqual(['a:bob']);
  expect(lines.some((l) => l.what === 'worker_notice_handler_failed')).toBe(true);
  remove();
  notices.receive('example.com', 'changed', 'carol');
  expect(got).toEqual(['a:bob']);

  const sent: string[] = [];
  notices.setTransport((host, topic, data) => sent.push(`${host} ${topic} ${data}`));
  notices.publish('example.com', 'changed', 'dave');
  expect(sent).toEqual(['example.com changed dave']);
  expect(got).toEqual(['a:bob']); // not run in the publishing process
});
