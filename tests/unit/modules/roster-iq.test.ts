// jabber:iq:roster through mod_roster: get, set, remove, XEP-0237 versions, pushes only to
// interested resources, and the RFC 6121 §2.3.3 refusals.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { FakeSession } from '../core/fakes.ts';
import { HOST, pushes, received, rosterFixture, type Fixture } from './roster-fixture.ts';

let f: Fixture;
let alice: FakeSession;

beforeEach(async () => {
  f = await rosterFixture();
  alice = f.connect('alice@example.com/phone');
  await f.settle();
  alice.sent.length = 0;
});

afterEach(async () => {
  await f.close();
});

let nextId = 0;
async function iq(session: FakeSession, type: 'get' | 'set', query: string) {
  const id = 'q' + nextId++;
  session.sent.length = 0;
  f.send(session, `<iq type='${type}' id='${id}'>${query}</iq>`);
  await f.settle();
  const reply = received(session, 'iq').find((r) => r.el.attrs.id === id);
  if (reply === undefined) throw new Error('no reply to ' + id);
  return reply;
}

const condition = (el: { getChild(n: string): { elements: Array<{ localName: string }> } | undefined }) => el.getChild('error')?.elements[0]?.localName;

test('an empty roster; the get makes the resource interested', async () => {
  const laptop = f.connect('alice@example.com/laptop', { interested: false });
  const reply = await iq(laptop, 'get', "<query xmlns='jabber:iq:roster'/>");
  expect(reply.type).toBe('result');
  expect(reply.el.getChild('query')!.elements.length).toBe(0);
  expect(laptop.interested).toBe(true);
});

test('set adds an item with name and groups, pushed to interested resources only', async () => {
  const quiet = f.connect('alice@example.com/watch', { interested: false });
  const reply = await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='Bob@Example.com' name='Bob'><group>Friends</group><group>Work</group></item></query>");
  expect(reply.type).toBe('result');
  const pushed = pushes(alice);
  expect(pushed.length).toBe(1);
  expect(pushed[0].attrs).toEqual({ jid: 'bob@example.com', name: 'Bob', subscription: 'none' });
  expect(pushed[0].getChildren('group').map((g) => g.text)).toEqual(['Friends', 'Work']);
  expect(received(quiet, 'iq').length).toBe(0);
  const push = received(alice, 'iq').find((r) => r.type === 'set')!;
  expect(push.from).toBe('alice@example.com');
  const roster = await iq(alice, 'get', "<query xmlns='jabber:iq:roster'/>");
  const items = roster.el.getChild('query')!.elements;
  expect(items.map((i) => i.attrs.jid)).toEqual(['bob@example.com']);
});

test('set on an existing item changes name and groups, never the subscription', async () => {
  await f.storage.roster.put(HOST, 'alice', { jid: 'bob@example.com', name: 'B', subscription: 'both', ask: false, approved: false, groups: [] });
  await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='Robert'/></query>");
  const item = await f.storage.roster.getItem(HOST, 'alice', 'bob@example.com');
  expect(item).toMatchObject({ name: 'Robert', subscription: 'both', groups: [] });
});

test('remove drops the item, pushes subscription=remove and ends both subscriptions', async () => {
  await f.storage.roster.put(HOST, 'alice', { jid: 'carol@remote.example', name: undefined, subscription: 'both', ask: false, approved: false, groups: [] });
  const reply = await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='carol@remote.example' subscription='remove'/></query>");
  expect(reply.type).toBe('result');
  expect(pushes(alice).map((i) => i.attrs)).toEqual([{ jid: 'carol@remote.example', subscription: 'remove' }]);
  expect(await f.storage.roster.getItem(HOST, 'alice', 'carol@remote.example')).toBeUndefined();
  // §2.5.2: unsubscribe and unsubscribed go to the contact, and alice's presence ends there.
  const types = f.remote.map((p) => p.type);
  expect(types).toContain('unsubscribe');
  expect(types).toContain('unsubscribed');
  expect(types).toContain('unavailable');
});

test('removing an item that is not there is item-not-found', async () => {
  const reply = await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='nobody@example.com' subscription='remove'/></query>");
  expect(reply.type).toBe('error');
  expect(condition(reply.el)).toBe('item-not-found');
});

test('versioning: the current version gets an empty result, an old one the whole roster', async () => {
  const first = await iq(alice, 'get', "<query xmlns='jabber:iq:roster' ver=''/>");
  const v0 = first.el.getChild('query')!.attrs.ver;
  expect(v0).toBe('0');
  const same = await iq(alice, 'get', `<query xmlns='jabber:iq:roster' ver='${v0}'/>`);
  expect(same.type).toBe('result');
  expect(same.el.getChild('query')).toBeUndefined();
  await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='bob@example.com'/></query>");
  const push = received(alice, 'iq').find((r) => r.type === 'set')!;
  const v1 = push.el.getChild('query')!.attrs.ver;
  expect(v1).not.toBe(v0);
  const stale = await iq(alice, 'get', `<query xmlns='jabber:iq:roster' ver='${v0}'/>`);
  expect(stale.el.getChild('query')!.attrs.ver).toBe(v1);
  expect(stale.el.getChild('query')!.elements.length).toBe(1);
  const current = await iq(alice, 'get', `<query xmlns='jabber:iq:roster' ver='${v1}'/>`);
  expect(current.el.getChild('query')).toBeUndefined();
});

test('a client that sends no ver gets no ver', async () => {
  const reply = await iq(alice, 'get', "<query xmlns='jabber:iq:roster'/>");
  expect(reply.el.getChild('query')!.attrs.ver).toBeUndefined();
});

const refusals: Array<[string, string, string]> = [
  ['two items', "<item jid='a@example.com'/><item jid='b@example.com'/>", 'bad-request'],
  ['no item', '', 'bad-request'],
  ['a subscription other than remove', "<item jid='a@example.com' subscription='both'/>", 'bad-request'],
  ['an item for oneself', "<item jid='alice@example.com'/>", 'not-allowed'],
  ['a full JID', "<item jid='a@example.com/res'/>", 'bad-request'],
  ['no jid', "<item name='x'/>", 'bad-request'],
  ['a malformed jid', "<item jid='@@'/>", 'bad-request'],
  ['the same group twice', "<item jid='a@example.com'><group>G</group><group>G</group></item>", 'bad-request'],
  ['an empty group', "<item jid='a@example.com'><group></group></item>", 'not-acceptable'],
];

for (const [what, items, expected] of refusals) {
  test(`a roster set with ${what} is refused with ${expected}`, async () => {
    const reply = await iq(alice, 'set', `<query xmlns='jabber:iq:roster'>${items}</query>`);
    expect(reply.type).toBe('error');
    expect(condition(reply.el)).toBe(expected);
    expect((await f.storage.roster.get(HOST, 'alice')).items).toEqual([]);
  });
}

test("another user's roster is forbidden", async () => {
  alice.sent.length = 0;
  f.send(alice, "<iq type='get' id='x1' to='bob@example.com'><query xmlns='jabber:iq:roster'/></iq>");
  await f.settle();
  const err = received(alice, 'iq').find((r) => r.el.attrs.id === 'x1')!;
  expect(err.type).toBe('error');
  expect(condition(err.el)).toBe('forbidden');
});

test('a name longer than max_name_length is not-acceptable', async () => {
  await f.close();
  f = await rosterFixture({ modules: { mod_roster: { max_name_length: 3 } } });
  alice = f.connect('alice@example.com/phone');
  const reply = await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='Bobby'/></query>");
  expect(condition(reply.el)).toBe('not-acceptable');
});

test('a full roster refuses new items', async () => {
  await f.close();
  f = await rosterFixture({ modules: { mod_roster: { max_items: 1 } } });
  alice = f.connect('alice@example.com/phone');
  expect((await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='bob@example.com'/></query>")).type).toBe('result');
  const reply = await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='carol@example.com'/></query>");
  expect(condition(reply.el)).toBe('not-allowed');
  // Updating an item that is already there is still allowed.
  expect((await iq(alice, 'set', "<query xmlns='jabber:iq:roster'><item jid='bob@example.com' name='B'/></query>")).type).toBe('result');
});
