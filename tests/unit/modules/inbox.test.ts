// mod_inbox (MongooseIM erlang-solutions.com:xmpp:inbox:0): both parties' entries, unread
// counting and what does not count, chat-marker resets, the query with its filters and
// totals, #conversation properties (box/archive, mute, read), reset, account removal.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { modInbox } from '../../../modules/mod_inbox/index.ts';
import { modMam } from '../../../modules/mod_mam/index.ts';
import type { Element } from '../../../server/xml/element.ts';
import { parseJid } from '../../../server/jid.ts';
import { HOST, errorCondition, imHarness, type ImHarness } from './im-harness.ts';
import type { FakeSession } from '../core/fakes.ts';

const INBOX = 'erlang-solutions.com:xmpp:inbox:0';
const CONV = `${INBOX}#conversation`;
let h: ImHarness;

beforeEach(async () => {
  h = await imHarness([modMam as ModuleDefinition<unknown>, modInbox as ModuleDefinition<unknown>]);
});
afterEach(async () => {
  await h.core.registry.stop();
  await h.storage.close();
});

const chat = (to: string, body: string, id = `m-${body}`, extra = '') => `<message to='${to}' type='chat' id='${id}'><body>${body}</body>${extra}</message>`;

interface Row { with: string; unread: number; body: string; box: string; archive: string; mute: string; read: string }

async function inbox(session: FakeSession, form = '', id = `i${Math.random().toString(36).slice(2)}`): Promise<{ rows: Row[]; fin: Element | undefined; iq: Element }> {
  const before = h.received(session).length;
  const iq = await h.iq(session, `<iq type='set' id='${id}'><inbox xmlns='${INBOX}' queryid='qid-${id}'>${form}</inbox></iq>`);
  const rows = h.received(session).slice(before).filter((el) => el.localName === 'message').map((m) => m.getChild('result', INBOX)!).filter((r) => r !== undefined).map((r) => {
    expect(r.attrs.queryid).toBe(`qid-${id}`);
    const msg = r.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!;
    const from = parseJid(msg.attrs.from).bare().toString();
    const to = parseJid(msg.attrs.to).bare().toString();
    return {
      with: from === session.jid.bare().toString() ? to : from,
      unread: Number(r.attrs.unread),
      body: msg.getChildText('body') ?? '',
      box: r.getChildText('box') ?? '',
      archive: r.getChildText('archive') ?? '',
      mute: r.getChildText('mute') ?? '',
      read: r.getChildText('read') ?? '',
    };
  });
  return { rows, fin: iq.getChild('fin', INBOX), iq };
}

const totals = (fin: Element | undefined) => ({
  count: Number(fin?.getChildText('count')),
  unread: Number(fin?.getChildText('unread-messages')),
  active: Number(fin?.getChildText('active-conversations')),
});

const formOf = (fields: Record<string, string>) =>
  `<x xmlns='jabber:x:data' type='submit'><field type='hidden' var='FORM_TYPE'><value>${INBOX}</value></field>${
    Object.entries(fields).map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`).join('')}</x>`;

async function settle(): Promise<void> {
  await h.settle();
}

test('a message updates both entries: sender read, recipient one more unread; the last message is shown', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'one'));
  h.send(alice, chat('bob@example.com', 'two'));
  await settle();
  const bobs = await inbox(bob);
  expect(bobs.rows).toEqual([{ with: 'alice@example.com', unread: 2, body: 'two', box: 'inbox', archive: 'false', mute: '0', read: 'false' }]);
  expect(totals(bobs.fin)).toEqual({ count: 1, unread: 2, active: 1 });
  const alices = await inbox(alice);
  expect(alices.rows.map((r) => [r.with, r.unread, r.body])).toEqual([['bob@example.com', 0, 'two']]);
  expect(totals(alices.fin)).toEqual({ count: 1, unread: 0, active: 0 });
  // Bob answering makes his side read.
  h.send(bob, chat('alice@example.com', 'hi'));
  await settle();
  expect((await inbox(bob)).rows.map((r) => [r.unread, r.body])).toEqual([[0, 'hi']]);
  expect((await inbox(alice)).rows.map((r) => [r.unread, r.body])).toEqual([[1, 'hi']]);
});

test('carbons, forwarded, delayed, error and body-less messages do not count', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'counted'));
  h.inject(`<message from='alice@example.com/a' to='bob@example.com' type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message><body>x</body></message></forwarded></received></message>`);
  h.inject(`<message from='alice@example.com/a' to='bob@example.com' type='chat'><body>fwd</body><forwarded xmlns='urn:xmpp:forward:0'><message><body>y</body></message></forwarded></message>`);
  h.inject(`<message from='alice@example.com/a' to='bob@example.com' type='chat'><body>old</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>`);
  h.inject(`<message from='alice@example.com/a' to='bob@example.com' type='error'><body>err</body></message>`);
  h.send(alice, `<message to='bob@example.com' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`);
  await settle();
  expect((await inbox(bob)).rows.map((r) => [r.unread, r.body])).toEqual([[1, 'counted']]);
});

test('a displayed marker for the last message resets unread; one for another id does not', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'first', 'id-1'));
  h.send(alice, chat('bob@example.com', 'second', 'id-2'));
  await settle();
  h.send(bob, `<message to='alice@example.com'><displayed xmlns='urn:xmpp:chat-markers:0' id='id-1'/></message>`);
  await settle();
  expect((await inbox(bob)).rows[0].unread).toBe(2);
  h.send(bob, `<message to='alice@example.com'><received xmlns='urn:xmpp:chat-markers:0' id='id-2'/></message>`);
  await settle();
  expect((await inbox(bob)).rows[0].unread).toBe(2); // only displayed resets by default
  h.send(bob, `<message to='alice@example.com'><displayed xmlns='urn:xmpp:chat-markers:0' id='id-2'/></message>`);
  await settle();
  const after = await inbox(bob);
  expect(after.rows[0].unread).toBe(0);
  expect(after.rows[0].read).toBe('true');
  // The marker itself did not become the last message of alice's entry.
  expect((await inbox(alice)).rows[0].body).toBe('second');
});

test('filters: unread only (hidden_read), order, start/end, max; bad values are bad-request', async () => {
  const bob = h.connect('bob@example.com/b');
  const alice = h.connect('alice@example.com/a');
  h.send(alice, chat('bob@example.com', 'from alice'));
  await settle();
  await new Promise((r) => setTimeout(r, 5));
  h.inject(`<message from='carol@remote.example/c' to='bob@example.com' type='chat'><body>from carol</body></message>`);
  await settle();
  await new Promise((r) => setTimeout(r, 5));
  h.send(bob, chat('dave@remote.example', 'to dave'));
  await settle();
  expect((await inbox(bob)).rows.map((r) => r.with)).toEqual(['dave@remote.example', 'carol@remote.example', 'alice@example.com']);
  expect((await inbox(bob, formOf({ order: 'asc' }))).rows.map((r) => r.with)).toEqual(['alice@example.com', 'carol@remote.example', 'dave@remote.example']);
  const unreadOnly = await inbox(bob, formOf({ hidden_read: 'true' }));
  expect(unreadOnly.rows.map((r) => r.with)).toEqual(['carol@remote.example', 'alice@example.com']);
  expect(totals(unreadOnly.fin)).toEqual({ count: 2, unread: 2, active: 2 });
  const limited = await inbox(bob, `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set>`);
  expect(limited.rows.map((r) => r.with)).toEqual(['dave@remote.example']);
  expect(totals(limited.fin).count).toBe(3);
  const future = new Date(Date.now() + 60_000).toISOString();
  expect((await inbox(bob, formOf({ start: future }))).rows).toEqual([]);
  expect((await inbox(bob, formOf({ end: future }))).rows).toHaveLength(3);
  expect(errorCondition((await inbox(bob, formOf({ start: 'invalid' }))).iq)).toBe('bad-request');
  expect(errorCondition((await inbox(bob, formOf({ order: 'sideways' }))).iq)).toBe('bad-request');
  const form = await h.iq(bob, `<iq type='get' id='f'><query xmlns='${INBOX}'/></iq>`);
  expect(form.getChild('query', INBOX)!.getChild('x', 'jabber:x:data')!.getChildren('field').map((f) => f.attrs.var)).toEqual(['FORM_TYPE', 'start', 'end', 'order', 'hidden_read', 'box', 'archive']);
});

test('#conversation: archive box, mute, read; pushed to every resource; a new message brings an archived entry back', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  const bobPhone = h.connect('bob@example.com/phone');
  h.send(alice, chat('bob@example.com', 'hello'));
  await settle();
  const archived = await h.iq(bob, `<iq type='set' id='c1'><query xmlns='${CONV}' jid='alice@example.com'><box>archive</box></query></iq>`);
  expect(archived.attrs.type).toBe('result');
  const props = archived.getChild('query', CONV)!;
  expect(props.getChildText('box')).toBe('archive');
  expect(props.getChildText('archive')).toBe('true');
  const push = h.received(bobPhone).find((el) => el.getChild('x', CONV) !== undefined)!;
  expect(push.getChild('x', CONV)!.attrs.jid).toBe('alice@example.com');
  expect(push.getChild('x', CONV)!.getChildText('box')).toBe('archive');
  expect((await inbox(bob, formOf({ box: 'inbox' }))).rows).toEqual([]);
  expect((await inbox(bob, formOf({ box: 'archive' }))).rows.map((r) => r.with)).toEqual(['alice@example.com']);

  const muted = await h.iq(bob, `<iq type='set' id='c2'><query xmlns='${CONV}' jid='alice@example.com'><mute>3600</mute></query></iq>`);
  const until = Date.parse(muted.getChild('query', CONV)!.getChildText('mute')!);
  expect(until).toBeGreaterThan(Date.now() + 3_500_000);
  expect(errorCondition(await h.iq(bob, `<iq type='set' id='c3'><query xmlns='${CONV}' jid='alice@example.com'><mute>-1</mute></query></iq>`))).toBe('bad-request');

  const read = await h.iq(bob, `<iq type='set' id='c4'><query xmlns='${CONV}' jid='alice@example.com'><read>true</read></query></iq>`);
  expect(read.getChild('query', CONV)!.getChildText('read')).toBe('true');
  const unread = await h.iq(bob, `<iq type='set' id='c5'><query xmlns='${CONV}' jid='alice@example.com'><read>false</read></query></iq>`);
  expect(unread.getChild('query', CONV)!.getChildText('read')).toBe('false');
  const got = await h.iq(bob, `<iq type='get' id='c6'><query xmlns='${CONV}' jid='alice@example.com'/></iq>`);
  expect(got.getChild('query', CONV)!.getChildText('mute')).not.toBe('0');

  h.send(alice, chat('bob@example.com', 'back'));
  await settle();
  const rows = (await inbox(bob)).rows;
  expect(rows.map((r) => [r.box, r.unread, r.body])).toEqual([['inbox', 2, 'back']]);
  expect(errorCondition(await h.iq(bob, `<iq type='set' id='c7'><query xmlns='${CONV}' jid='nobody@example.com'><read>true</read></query></iq>`))).toBe('item-not-found');
  expect(errorCondition(await h.iq(bob, `<iq type='set' id='c8'><query xmlns='${CONV}' jid='alice@example.com'><box>bin</box></query></iq>`))).toBe('bad-request');
});

test('reset sets unread to 0 and keeps the last message', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'a'));
  h.send(alice, chat('bob@example.com', 'b'));
  await settle();
  const r = await h.iq(bob, `<iq type='set' id='r1'><reset xmlns='${CONV}' jid='alice@example.com'/></iq>`);
  expect(r.attrs.type).toBe('result');
  expect((await inbox(bob)).rows.map((x) => [x.unread, x.body])).toEqual([[0, 'b']]);
  expect(errorCondition(await h.iq(bob, `<iq type='set' id='r2'><reset xmlns='${CONV}' jid='carol@example.com'/></iq>`))).toBe('item-not-found');
});

test('another user\'s inbox is forbidden; removing an account removes its inbox only', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'x'));
  await settle();
  const foreign = await h.iq(bob, `<iq type='set' id='x1' to='alice@example.com'><inbox xmlns='${INBOX}'/></iq>`);
  expect(errorCondition(foreign)).toBe('forbidden');
  await h.core.hooks.runAsync('remove_user', HOST, { jid: parseJid('bob@example.com') });
  expect((await h.storage.inbox.query(HOST, 'bob', { order: 'desc', unreadOnly: false })).entries).toEqual([]);
  expect((await h.storage.inbox.query(HOST, 'alice', { order: 'desc', unreadOnly: false })).entries).toHaveLength(1);
  await h.storage.users.remove(HOST, 'alice');
  expect((await h.storage.inbox.query(HOST, 'alice', { order: 'desc', unreadOnly: false })).entries).toEqual([]);
});

test('the entry keeps the archive stanza-id of the last message (mod_mam runs first)', async () => {
  const alice = h.connect('alice@example.com/a');
  const bob = h.connect('bob@example.com/b');
  h.send(alice, chat('bob@example.com', 'with id'));
  await settle();
  const entry = await h.storage.inbox.get(HOST, 'bob', 'alice@example.com');
  const sid = h.received(bob).find((el) => el.localName === 'message')!.getChild('stanza-id', 'urn:xmpp:sid:0')!.attrs.id;
  expect(entry!.stanza).toContain(`by='bob@example.com' id='${sid}'`);
});
