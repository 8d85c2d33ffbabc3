// mod_mam (XEP-0313 + XEP-0359): what is archived and for whom, the stanza-id the recipient
// sees, forged stanza-ids, queries with filters and RSM paging, preferences, removal.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { modMam } from '../../../modules/mod_mam/index.ts';
import { modRoster } from '../../../modules/mod_roster/index.ts';
import type { Element } from '../../../server/xml/element.ts';
import { parseJid } from '../../../server/jid.ts';
import { HOST, errorCondition, imHarness, type ImHarness } from './im-harness.ts';
import type { FakeSession } from '../core/fakes.ts';

const MAM = 'urn:xmpp:mam:2';
const SID = 'urn:xmpp:sid:0';
let h: ImHarness;

async function start(mamOptions: Record<string, unknown> = {}): Promise<void> {
  h = await imHarness([modRoster as ModuleDefinition<unknown>, modMam as ModuleDefinition<unknown>], { modules: { mod_mam: mamOptions } });
}

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  await h.core.registry.stop();
  await h.storage.close();
});

const chat = (to: string, body: string, id = `m-${body}`, extra = '') => `<message to='${to}' type='chat' id='${id}'><body>${body}</body>${extra}</message>`;

function messages(session: FakeSession): Element[] {
  return h.received(session).filter((el) => el.localName === 'message');
}

/** Runs a MAM query; returns the forwarded messages' bodies, result ids and the fin. */
async function query(session: FakeSession, inner = '', id = `q${Math.random().toString(36).slice(2)}`): Promise<{ ids: string[]; bodies: string[]; fin: Element | undefined; iq: Element }> {
  const before = messages(session).length;
  const iq = await h.iq(session, `<iq type='set' id='${id}'><query xmlns='${MAM}' queryid='qid-${id}'>${inner}</query></iq>`);
  const results = messages(session).slice(before).map((m) => m.getChild('result', MAM)!).filter((r) => r !== undefined);
  for (const r of results) expect(r.attrs.queryid).toBe(`qid-${id}`);
  return {
    ids: results.map((r) => r.attrs.id),
    bodies: results.map((r) => r.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!.getChildText('body') ?? ''),
    fin: iq.getChild('fin', MAM),
    iq,
  };
}

const form = (fields: Record<string, string | string[]>) =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${MAM}</value></field>${
    Object.entries(fields).map(([k, v]) => `<field var='${k}'>${(Array.isArray(v) ? v : [v]).map((x) => `<value>${x}</value>`).join('')}</field>`).join('')}</x>`;
const rsm = (inner: string) => `<set xmlns='http://jabber.org/protocol/rsm'>${inner}</set>`;

test('a chat message is archived for both parties; the recipient gets a stanza-id naming its archive', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'hello'));
  const got = messages(bob);
  expect(got).toHaveLength(1);
  const sid = got[0].getChild('stanza-id', SID)!;
  expect(sid.attrs.by).toBe('bob@example.com');
  expect(await h.storage.archive.count(HOST, 'alice')).toBe(1);
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(1);
  const bobs = await query(bob);
  expect(bobs.ids).toEqual([sid.attrs.id]);
  expect(bobs.bodies).toEqual(['hello']);
  expect(bobs.fin!.attrs.complete).toBe('true');
  const alices = await query(alice);
  expect(alices.bodies).toEqual(['hello']);
  // The forwarded copy keeps both addresses and a delay.
  const forwarded = messages(alice).at(-1)!.getChild('result', MAM)!.getChild('forwarded', 'urn:xmpp:forward:0')!;
  expect(forwarded.getChild('message')!.attrs.from).toBe('alice@example.com/a');
  expect(forwarded.getChild('message')!.attrs.to).toBe('bob@example.com');
  expect(Number.isNaN(Date.parse(forwarded.getChild('delay', 'urn:xmpp:delay')!.attrs.stamp))).toBe(false);
});

test('a message to an offline user is archived once; one to several resources once too', async () => {
  const alice = h.connect('alice@example.com/a');
  h.send(alice, chat('bob@example.com', 'while away'));
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(1);
  h.connect('bob@example.com/one');
  h.connect('bob@example.com/two');
  h.send(alice, chat('bob@example.com', 'to both'));
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(2);
});

test('no body, errors, headlines, no-store hints and unknown recipients are not archived', async () => {
  const alice = h.connect('alice@example.com/a');
  h.connect('bob@example.com/b');
  h.send(alice, `<message to='bob@example.com' type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`);
  h.send(alice, `<message to='bob@example.com' type='headline'><body>news</body></message>`);
  h.send(alice, chat('bob@example.com', 'secret', 'x', `<no-store xmlns='urn:xmpp:hints'/>`));
  h.send(alice, chat('nobody@example.com', 'lost'));
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(0);
  expect(await h.storage.archive.count(HOST, 'nobody')).toBe(0);
  // The sender's own copy of the message to a missing account is in the sender's archive.
  expect((await query(alice)).bodies).toEqual(['lost']);
});

test('archive_namespaces archives body-less payloads; a <store/> hint does too', async () => {
  await h.core.registry.stop();
  await start({ archive_namespaces: ['eu.siacs.conversations.axolotl'] });
  const alice = h.connect('alice@example.com/a');
  h.send(alice, `<message to='bob@example.com' type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>`);
  h.send(alice, `<message to='bob@example.com' type='chat'><x xmlns='urn:example'/><store xmlns='urn:xmpp:hints'/></message>`);
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(2);
});

test('a stanza-id claiming the recipient archive is removed; another server\'s is kept', async () => {
  const bob = h.connect('bob@example.com/b');
  h.inject(`<message from='mallory@evil.example/x' to='bob@example.com' type='chat'><body>trust me</body>`
    + `<stanza-id xmlns='${SID}' by='Bob@Example.com' id='forged'/><stanza-id xmlns='${SID}' by='evil.example' id='e1'/></message>`);
  const got = messages(bob)[0];
  const ids = got.getChildren('stanza-id', SID);
  expect(ids.map((i) => i.attrs.by).sort()).toEqual(['bob@example.com', 'evil.example']);
  const ours = ids.find((i) => i.attrs.by === 'bob@example.com')!;
  expect(ours.attrs.id).not.toBe('forged');
  expect((await query(bob)).ids).toEqual([ours.attrs.id]);
  // Not archived (a groupchat error) but still stripped.
  h.inject(`<message from='mallory@evil.example/x' to='bob@example.com' type='chat'><stanza-id xmlns='${SID}' by='bob@example.com' id='2'/></message>`);
  expect(messages(bob)[1].getChildren('stanza-id', SID)).toEqual([]);
});

test('filters: with, start/end, ids; RSM after, before, max and complete', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  for (let i = 1; i <= 5; i++) h.send(alice, chat('bob@example.com', `a${i}`));
  h.inject(`<message from='carol@example.com/c' to='bob@example.com' type='chat'><body>c1</body></message>`);
  const all = await query(bob);
  expect(all.bodies).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'c1']);
  expect((await query(bob, form({ with: 'carol@example.com' }))).bodies).toEqual(['c1']);
  expect((await query(bob, form({ with: 'alice@example.com/other' }))).bodies).toHaveLength(5);
  expect((await query(bob, form({ ids: [all.ids[1], all.ids[3], '999999'] }))).bodies).toEqual(['a2', 'a4']);

  const first = await query(bob, rsm('<max>2</max>'));
  expect(first.bodies).toEqual(['a1', 'a2']);
  expect(first.fin!.attrs.complete).toBeUndefined();
  expect(first.fin!.getChild('set')!.getChildText('first')).toBe(all.ids[0]);
  expect(first.fin!.getChild('set')!.getChildText('last')).toBe(all.ids[1]);
  const next = await query(bob, rsm(`<max>2</max><after>${all.ids[1]}</after>`));
  expect(next.bodies).toEqual(['a3', 'a4']);
  const tail = await query(bob, rsm(`<max>2</max><after>${all.ids[3]}</after>`));
  expect(tail.bodies).toEqual(['a5', 'c1']);
  expect(tail.fin!.attrs.complete).toBe('true');
  const last = await query(bob, rsm('<max>2</max><before/>'));
  expect(last.bodies).toEqual(['a5', 'c1']);
  const beforeThat = await query(bob, rsm(`<max>2</max><before>${all.ids[4]}</before>`));
  expect(beforeThat.bodies).toEqual(['a3', 'a4']);
  const none = await query(bob, rsm('<max>0</max>'));
  expect(none.bodies).toEqual([]);

  // Time: every message is older than "now + 1 min" and newer than "an hour ago".
  const future = new Date(Date.now() + 60_000).toISOString();
  const past = new Date(Date.now() - 3_600_000).toISOString();
  expect((await query(bob, form({ start: past, end: future }))).bodies).toHaveLength(6);
  expect((await query(bob, form({ start: future }))).bodies).toEqual([]);
  expect((await query(bob, form({ end: past }))).bodies).toEqual([]);
});

test('the page a client cannot have: unknown ids, other users\' ids, bad dates, unknown fields, other archives', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'x'));
  const aliceId = (await query(alice)).ids[0];
  expect(errorCondition((await query(bob, rsm(`<after>${aliceId}</after>`))).iq)).toBe('item-not-found');
  expect(errorCondition((await query(bob, rsm('<after>nope</after>'))).iq)).toBe('item-not-found');
  expect(errorCondition((await query(bob, form({ start: 'yesterday' }))).iq)).toBe('bad-request');
  expect(errorCondition((await query(bob, form({ colour: 'red' }))).iq)).toBe('bad-request');
  const foreign = await h.iq(bob, `<iq type='set' id='f1' to='alice@example.com'><query xmlns='${MAM}'/></iq>`);
  expect(errorCondition(foreign)).toBe('forbidden');
  const formReply = await h.iq(bob, `<iq type='get' id='f2'><query xmlns='${MAM}'/></iq>`);
  expect(formReply.getChild('query', MAM)!.getChild('x', 'jabber:x:data')!.getChildren('field').map((f) => f.attrs.var)).toContain('ids');
});

test('preferences: never, always lists and roster mode (from the roster table)', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  const set = await h.iq(bob, `<iq type='set' id='p1'><prefs xmlns='${MAM}' default='roster'><always><jid>carol@example.com</jid></always><never><jid>alice@example.com</jid></never></prefs></iq>`);
  expect(set.attrs.type).toBe('result');
  const got = await h.iq(bob, `<iq type='get' id='p2'><prefs xmlns='${MAM}'/></iq>`);
  const prefs = got.getChild('prefs', MAM)!;
  expect(prefs.attrs.default).toBe('roster');
  expect(prefs.getChild('always')!.getChildren('jid').map((j) => j.text)).toEqual(['carol@example.com']);
  expect(prefs.getChild('never')!.getChildren('jid').map((j) => j.text)).toEqual(['alice@example.com']);

  h.send(alice, chat('bob@example.com', 'never')); // alice is on bob's never list
  h.inject(`<message from='carol@example.com/c' to='bob@example.com' type='chat'><body>always</body></message>`);
  h.inject(`<message from='dave@remote.example/d' to='bob@example.com' type='chat'><body>stranger</body></message>`);
  await h.storage.roster.put(HOST, 'bob', { jid: 'erin@remote.example', name: undefined, subscription: 'both', ask: false, approved: false, groups: [] });
  h.inject(`<message from='erin@remote.example/e' to='bob@example.com' type='chat'><body>friend</body></message>`);
  expect((await query(bob)).bodies).toEqual(['always', 'friend']);
  // Alice archives her side by her own (default) preferences.
  expect((await query(alice)).bodies).toEqual(['never']);
  expect(errorCondition(await h.iq(bob, `<iq type='set' id='p3'><prefs xmlns='${MAM}' default='sometimes'/></iq>`))).toBe('bad-request');
});

test('default_mode never archives nothing until the user says otherwise', async () => {
  await h.core.registry.stop();
  await start({ default_mode: 'never' });
  const alice = h.connect('alice@example.com/a');
  h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'gone'));
  expect(await h.storage.archive.count(HOST, 'alice')).toBe(0);
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(0);
});

test('removing an account removes its archive and preferences, not the other party\'s', async () => {
  const alice = h.connect('alice@example.com/a');
  h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'bye'));
  await h.storage.archive.setPrefs(HOST, 'bob', { defaultMode: 'never', always: [], never: [] });
  await h.core.hooks.runAsync('remove_user', HOST, { jid: parseJid('bob@example.com') });
  expect(await h.storage.archive.count(HOST, 'bob')).toBe(0);
  expect(h.storage.archive.prefsSync(HOST, 'bob')).toBeUndefined();
  expect(await h.storage.archive.count(HOST, 'alice')).toBe(1);
  // storage users.remove alone (meerkatctl with the server stopped) also purges.
  expect(await h.storage.users.remove(HOST, 'alice')).toBe(true);
  expect(await h.storage.archive.count(HOST, 'alice')).toBe(0);
});

test('disco on the user\'s account and on the server advertises urn:xmpp:mam:2 and #extended', () => {
  const features: string[] = [];
  h.core.hooks.run('disco_sm_features', HOST, { to: parseJid('bob@example.com'), from: parseJid('bob@example.com/b'), node: '', features });
  expect(features).toEqual([MAM, `${MAM}#extended`]);
  expect(h.core.features.list(HOST)).toContain(MAM);
});

test('a message rerouted after its session could not take it keeps its stanza-id and is not archived twice', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob1 = h.connect('bob@example.com/one');
  const bob2 = h.connect('bob@example.com/two');
  h.send(alice, chat('bob@example.com/one', 'once'));
  const delivered = messages(bob1)[0];
  const sid = delivered.getChild('stanza-id', SID)!.attrs.id;
  // bob/one's session dies with the message unacknowledged: it goes to bob's other resource.
  h.core.sessions.remove(bob1, 'gone');
  const { rerouteUndelivered } = await import('../../../server/core/undelivered.ts');
  expect(rerouteUndelivered(h.core, parseJid('bob@example.com/one'), delivered)).toBe('rerouted');
  const again = messages(bob2);
  expect(again).toHaveLength(1);
  expect(again[0].getChildren('stanza-id', SID).map((e) => e.attrs.id)).toEqual([sid]);
  const { ids } = await query(bob2);
  expect(ids).toEqual([sid]);
});
