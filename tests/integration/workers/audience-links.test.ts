// Account-wide delivery and notices between two workers of one node in one test process: two
// Cores joined by the real unix-socket links, both running mod_csi. bob's resources are
// spread over both workers; what each FakeSession receives is what its stream would write.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Core } from '../../../server/core/node.ts';
import type { Audience } from '../../../server/core/audiences.ts';
import { joinWorkers, type WorkerGroup } from '../../../server/cluster/worker.ts';
import { bunRuntime } from '../../../server/runtime/bun.ts';
import { parseJid } from '../../../server/jid.ts';
import { Element } from '../../../server/xml/element.ts';
import { modCsi } from '../../../modules/mod_csi.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { FakeSession, packet, testCore } from '../../unit/core/fakes.ts';
import { waitUntil as until } from '../../helpers/wait-until.ts';

interface Worker {
  core: Core;
  group: WorkerGroup;
  flagged: WeakSet<FakeSession>;
  audience: Audience;
}

let dir: string;
let w: Worker[];

async function startWorker(index: number): Promise<Worker> {
  const { core } = testCore({ hosts: ['example.com'], modules: [modCsi as ModuleDefinition<unknown>] });
  await core.registry.start({ modules: { 'example.com': { mod_csi: { value: {} } } } });
  // What a module's per-session state would be: known only to the worker holding the session.
  const flagged = new WeakSet<FakeSession>();
  const audience = core.router.audiences.define('example.com', 'flagged', (s) => flagged.has(s as FakeSession)).audience;
  const group = await joinWorkers({ index, count: 2, core, runtime: bunRuntime, dataDir: dir, log: core.logger, redialMs: 20 });
  return { core, group, flagged, audience };
}

function bind(worker: Worker, jid: string, options: { flagged?: boolean } = {}): FakeSession {
  const s = new FakeSession(jid, { priority: 0, available: false });
  worker.core.sessions.open(s);
  worker.core.sessions.setAvailable(s, 0, packet(`<presence from='${jid}' to='${jid.split('/')[0]}'/>`));
  if (options.flagged) worker.flagged.add(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-audience-links-'));
  w = [await startWorker(0), await startWorker(1)];
  await until('links up', () => w[0].group.connectedPeers().length === 1 && w[1].group.connectedPeers().length === 1);
});

afterEach(async () => {
  for (const x of w) {
    await x.group.stop();
    await x.core.registry.stop();
  }
  await rm(dir, { recursive: true, force: true });
});

test('a stanza for an audience reaches its members on the other worker, judged there, readdressed to each', async () => {
  const desk = bind(w[0], 'bob@example.com/desk', { flagged: true });
  const phone = bind(w[1], 'bob@example.com/phone', { flagged: true });
  const tv = bind(w[1], 'bob@example.com/tv');
  const tablet = bind(w[1], 'bob@example.com/tablet', { flagged: true });
  await until('bob known on worker 0', () => w[0].group.directory.resources(parseJid('bob@example.com')).length === 3);
  const push = packet("<iq from='bob@example.com' to='bob@example.com' type='set' id='push-7'><query xmlns='jabber:iq:roster'><item jid='carol@example.com'/></query></iq>");
  push.hops = 2;
  w[0].core.router.deliverToAudience(parseJid('bob@example.com'), w[0].audience, push, { except: [parseJid('bob@example.com/tablet')] });
  expect(desk.wire).toEqual(["<iq from='bob@example.com' to='bob@example.com/desk' type='set' id='push-7'><query xmlns='jabber:iq:roster'><item jid='carol@example.com'/></query></iq>"]);
  await until('phone got it', () => phone.sent.length === 1);
  expect(phone.sent[0].to.toString()).toBe('bob@example.com/phone');
  expect(phone.wire[0]).toContain("to='bob@example.com/phone'");
  expect(phone.sent[0].element().getChild('query')!.getChild('item')!.attrs.jid).toBe('carol@example.com');
  // One link step more than the sender's count.
  expect(phone.sent[0].hops).toBe(3);
  expect(tv.sent).toHaveLength(0);
  expect(tablet.sent).toHaveLength(0);

  // keepTo: written as addressed, the forwarded bytes unchanged (no parse on the way).
  w[0].core.router.deliverToAudience(parseJid('bob@example.com'), w[0].audience, packet("<presence from='carol@example.com' to='bob@example.com' type='subscribe'/>"), { keepTo: true });
  await until('phone got the request', () => phone.sent.length === 2);
  expect(phone.wire[1]).toBe("<presence from='carol@example.com' to='bob@example.com' type='subscribe'/>");
  expect(phone.sent[1].zeroCopy).toBe(true);
  expect(tablet.sent).toHaveLength(1);
});

test('notices reach every other worker, not the one that published', async () => {
  const got: string[][] = [[], []];
  for (const [i, x] of w.entries()) x.core.notices.subscribe('example.com', 'list_changed', (data) => got[i].push(data));
  w[0].core.notices.publish('example.com', 'list_changed', 'alice@example.com');
  await until('worker 1 heard', () => got[1].length === 1);
  expect(got).toEqual([[], ['alice@example.com']]);
});

test('client state indication holds what another worker forwards to an inactive session, and lets urgent stanzas through in order', async () => {
  bind(w[0], 'alice@example.com/r');
  const phone = bind(w[1], 'bob@example.com/phone');
  await until('phone known', () => w[0].group.directory.get(phone.jid) !== undefined);
  w[1].core.hooks.run('c2s_stream_element', 'example.com', { session: phone, element: new Element('inactive', { xmlns: 'urn:xmpp:csi:0' }) });
  const before = w[1].core.router.stats.routed;
  w[0].core.router.route(packet("<presence from='alice@example.com/r' to='bob@example.com/phone'/>"));
  w[0].core.router.route(packet("<message from='alice@example.com/r' to='bob@example.com/phone' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"));
  await until('both arrived on worker 1', () => w[1].core.router.stats.routed === before + 2);
  // Held on the worker holding the session, where its CSI state is.
  expect(phone.sent).toHaveLength(0);
  w[0].core.router.route(packet("<message from='alice@example.com/r' to='bob@example.com/phone' type='chat'><body>wake up</body></message>"));
  await until('flushed', () => phone.sent.length === 3);
  expect(phone.sent.map((p) => p.kind)).toEqual(['presence', 'message', 'message']);
  expect(phone.sent[2].element().getChildText('body')).toBe('wake up');
});
