// Presence through mod_roster (RFC 6121 §3–§4): the subscription handshake between two local
// users, broadcast to subscribers, probes and their answers, directed presence, and the
// unavailable presence at the end of a session.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { FakeSession } from '../core/fakes.ts';
import { HOST, pushes, received, rosterFixture, type Fixture } from './roster-fixture.ts';

let f: Fixture;

beforeEach(async () => {
  f = await rosterFixture();
});

afterEach(async () => {
  await f.close();
});

const presences = (s: FakeSession) => received(s, 'presence');

async function befriend(): Promise<void> {
  await f.storage.roster.put(HOST, 'alice', { jid: 'bob@example.com', name: undefined, subscription: 'both', ask: false, approved: false, groups: [] });
  await f.storage.roster.put(HOST, 'bob', { jid: 'alice@example.com', name: undefined, subscription: 'both', ask: false, approved: false, groups: [] });
}

test('handshake: alice subscribes, bob approves, both rosters are pushed, alice sees bob online', async () => {
  const alice = f.connect('alice@example.com/phone');
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  alice.sent.length = 0;
  bob.sent.length = 0;

  f.send(alice, "<presence to='bob@example.com' type='subscribe'><status>it is alice</status></presence>");
  await f.settle();
  expect(pushes(alice).map((i) => i.attrs)).toEqual([{ jid: 'bob@example.com', subscription: 'none', ask: 'subscribe' }]);
  const request = presences(bob).find((p) => p.type === 'subscribe')!;
  expect(request.from).toBe('alice@example.com');
  expect(request.el.getChildText('status')).toBe('it is alice');
  expect(pushes(bob)).toEqual([]); // §3.1.3: no item for a request the user has not answered

  f.send(bob, "<presence to='alice@example.com' type='subscribed'/>");
  await f.settle();
  expect(pushes(bob).map((i) => i.attrs)).toEqual([{ jid: 'alice@example.com', subscription: 'from' }]);
  expect(pushes(alice).map((i) => i.attrs).at(-1)).toEqual({ jid: 'bob@example.com', subscription: 'to' });
  expect(presences(alice).some((p) => p.type === 'subscribed' && p.from === 'bob@example.com')).toBe(true);
  // §3.1.5: bob's current presence follows the approval.
  expect(presences(alice).some((p) => p.type === undefined && p.from === 'bob@example.com/desk')).toBe(true);

  // bob changes presence: alice (subscribed to bob) gets it; bob gets nothing of alice's.
  alice.sent.length = 0;
  f.send(bob, '<presence><show>away</show></presence>');
  await f.settle();
  const away = presences(alice).find((p) => p.from === 'bob@example.com/desk')!;
  expect(away.el.getChildText('show')).toBe('away');
  bob.sent.length = 0;
  f.send(alice, '<presence><show>dnd</show></presence>');
  await f.settle();
  expect(presences(bob).filter((p) => p.from.startsWith('alice'))).toEqual([]);
});

test('a subscription request waits for an offline user and is delivered at the next login', async () => {
  f.inject("<presence from='carol@remote.example/x' to='bob@example.com' type='subscribe'/>");
  await f.settle();
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  const request = presences(bob).filter((p) => p.type === 'subscribe');
  expect(request.length).toBe(1);
  expect(request[0].from).toBe('carol@remote.example');
});

test('pre-approval: a later request is answered at once and the item becomes from', async () => {
  const bob = f.connect('bob@example.com/desk');
  f.send(bob, "<presence to='carol@remote.example' type='subscribed'/>");
  await f.settle();
  expect(pushes(bob).map((i) => i.attrs)).toEqual([{ jid: 'carol@remote.example', subscription: 'none', approved: 'true' }]);
  expect(f.remote.filter((p) => p.type === 'subscribed')).toEqual([]);
  bob.sent.length = 0;
  f.inject("<presence from='carol@remote.example' to='bob@example.com' type='subscribe'/>");
  await f.settle();
  expect(f.remote.filter((p) => p.type === 'subscribed').length).toBe(1);
  expect(presences(bob).filter((p) => p.type === 'subscribe')).toEqual([]);
  expect(pushes(bob).map((i) => i.attrs)).toEqual([{ jid: 'carol@remote.example', subscription: 'from' }]);
  // the new subscriber gets bob's presence
  expect(f.remote.some((p) => p.type === undefined && p.from.toString() === 'bob@example.com/desk')).toBe(true);
});

test('initial presence goes to subscribers and the user, probes go to contacts', async () => {
  await f.storage.roster.put(HOST, 'alice', { jid: 'carol@remote.example', name: undefined, subscription: 'both', ask: false, approved: false, groups: [] });
  await f.storage.roster.put(HOST, 'alice', { jid: 'dave@remote.example', name: undefined, subscription: 'from', ask: false, approved: false, groups: [] });
  await f.storage.roster.put(HOST, 'alice', { jid: 'erin@remote.example', name: undefined, subscription: 'to', ask: false, approved: false, groups: [] });
  const alice = f.connect('alice@example.com/phone');
  await f.settle();
  const avail = f.remote.filter((p) => p.type === undefined).map((p) => p.to.toString()).sort();
  expect(avail).toEqual(['carol@remote.example', 'dave@remote.example']);
  const probes = f.remote.filter((p) => p.type === 'probe');
  expect(probes.map((p) => p.to.toString()).sort()).toEqual(['carol@remote.example', 'erin@remote.example']);
  expect(probes.every((p) => p.from.toString() === 'alice@example.com')).toBe(true);
  expect(presences(alice).some((p) => p.from === 'alice@example.com/phone' && p.type === undefined)).toBe(true);
  // A later change is broadcast, but probes are not sent again.
  f.remote.length = 0;
  f.send(alice, '<presence><show>xa</show></presence>');
  await f.settle();
  expect(f.remote.filter((p) => p.type === 'probe')).toEqual([]);
  expect(f.remote.filter((p) => p.type === undefined).length).toBe(2);
});

test('a probe from a subscriber is answered with the last presence of each available resource', async () => {
  await befriend();
  const bob1 = f.connect('bob@example.com/desk');
  f.send(bob1, "<presence><status>at my desk</status></presence>");
  f.connect('bob@example.com/phone', { priority: -1 });
  await f.settle();
  const alice = f.connect('alice@example.com/phone');
  await f.settle();
  const fromBob = presences(alice).filter((p) => p.from.startsWith('bob@'));
  expect(fromBob.map((p) => p.from).sort()).toEqual(['bob@example.com/desk', 'bob@example.com/phone']);
  expect(fromBob.find((p) => p.from === 'bob@example.com/desk')!.el.getChildText('status')).toBe('at my desk');
});

test('a probe from a stranger reveals nothing; one for an offline contact gets unavailable', async () => {
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  f.inject("<presence from='mallory@remote.example' to='bob@example.com' type='probe'/>");
  await f.settle();
  expect(f.remote.filter((p) => p.to.toString().startsWith('mallory'))).toEqual([]);
  bob.close();
  f.core.sessions.remove(bob);
  await f.settle();
  await f.storage.roster.put(HOST, 'bob', { jid: 'carol@remote.example', name: undefined, subscription: 'from', ask: false, approved: false, groups: [] });
  f.remote.length = 0;
  f.inject("<presence from='carol@remote.example' to='bob@example.com' type='probe'/>");
  await f.settle();
  expect(f.remote.map((p) => [p.type, p.from.toString()])).toEqual([['unavailable', 'bob@example.com']]);
});

test('disconnect sends unavailable to subscribers, own resources and directed-presence entities', async () => {
  await befriend();
  const alice = f.connect('alice@example.com/phone');
  const alice2 = f.connect('alice@example.com/laptop');
  const bob = f.connect('bob@example.com/desk');
  f.send(alice, "<presence to='room@remote.example/alice'/>");
  f.send(alice, "<presence to='dave@remote.example'/>");
  f.send(alice, "<presence to='dave@remote.example' type='unavailable'/>");
  await f.settle();
  bob.sent.length = 0;
  alice2.sent.length = 0;
  f.remote.length = 0;
  f.core.sessions.remove(alice, 'closed');
  await f.settle();
  expect(presences(bob).map((p) => [p.type, p.from])).toEqual([['unavailable', 'alice@example.com/phone']]);
  expect(presences(alice2).map((p) => [p.type, p.from])).toEqual([['unavailable', 'alice@example.com/phone']]);
  // dave got directed unavailable already; the room did not.
  expect(f.remote.map((p) => [p.type, p.to.toString()])).toEqual([['unavailable', 'room@remote.example/alice']]);
});

test("a client's unavailable presence is broadcast with its status", async () => {
  await befriend();
  const alice = f.connect('alice@example.com/phone');
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  bob.sent.length = 0;
  f.send(alice, "<presence type='unavailable'><status>gone fishing</status></presence>");
  await f.settle();
  const got = presences(bob).filter((p) => p.type === 'unavailable');
  expect(got.length).toBe(1);
  expect(got[0].el.getChildText('status')).toBe('gone fishing');
  // A second unavailable (already unavailable) sends nothing more.
  bob.sent.length = 0;
  f.send(alice, "<presence type='unavailable'/>");
  await f.settle();
  expect(presences(bob)).toEqual([]);
});

test('unsubscribed from the contact: alice stops seeing bob and is told he is gone', async () => {
  await befriend();
  const alice = f.connect('alice@example.com/phone');
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  alice.sent.length = 0;
  f.send(bob, "<presence to='alice@example.com' type='unsubscribed'/>");
  await f.settle();
  expect((await f.storage.roster.getItem(HOST, 'bob', 'alice@example.com'))!.subscription).toBe('to');
  expect((await f.storage.roster.getItem(HOST, 'alice', 'bob@example.com'))!.subscription).toBe('from');
  expect(presences(alice).some((p) => p.type === 'unavailable' && p.from === 'bob@example.com/desk')).toBe(true);
  alice.sent.length = 0;
  f.send(bob, '<presence><show>chat</show></presence>');
  await f.settle();
  expect(presences(alice).filter((p) => p.from.startsWith('bob'))).toEqual([]);
});
