// mod_offline (XEP-0160): what is stored, the <delay/>, delivery once at the next available
// presence with a non-negative priority, and the per-user cap.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { modOffline, offlineIdle } from '../../../modules/mod_offline.ts';
import { HOST, received, rosterFixture, type Fixture } from './roster-fixture.ts';

let f: Fixture;

async function start(options: Record<string, unknown> = {}): Promise<void> {
  f = await rosterFixture({
    definitions: [modOffline as ModuleDefinition<unknown>],
    modules: { mod_roster: {}, mod_offline: options },
    idle: [(core) => offlineIdle(core.hooks, HOST)],
  });
}

beforeEach(async () => {
  await start();
});

afterEach(async () => {
  await f.close();
});

const message = (body: string, type = 'chat', extra = '') =>
  `<message from='carol@remote.example/x' to='bob@example.com' type='${type}' id='m-${body}'><body>${body}</body>${extra}</message>`;

test('a chat message to an offline user is stored with <delay/> and delivered once', async () => {
  f.inject(message('one'));
  f.inject(message('two', 'normal'));
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(2);
  expect(f.remote).toEqual([]); // no error back to the sender
  const bob = f.connect('bob@example.com/desk');
  await f.settle();
  const msgs = received(bob, 'message');
  expect(msgs.map((m) => m.el.getChildText('body'))).toEqual(['one', 'two']);
  const delay = msgs[0].el.getChild('delay', 'urn:xmpp:delay')!;
  expect(delay.attrs.from).toBe(HOST);
  expect(Number.isNaN(Date.parse(delay.attrs.stamp))).toBe(false);
  expect(msgs[0].from).toBe('carol@remote.example/x');
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(0);
  // Another resource logging in later gets nothing again.
  const laptop = f.connect('bob@example.com/laptop');
  await f.settle();
  expect(received(laptop, 'message')).toEqual([]);
});

test('negative priority does not collect the messages; a later non-negative presence does', async () => {
  f.inject(message('hello'));
  await f.settle();
  const bob = f.connect('bob@example.com/desk', { priority: -1 });
  await f.settle();
  expect(received(bob, 'message')).toEqual([]);
  f.send(bob, '<presence><priority>5</priority></presence>');
  await f.settle();
  expect(received(bob, 'message').map((m) => m.el.getChildText('body'))).toEqual(['hello']);
});

test('above the cap the sender gets service-unavailable', async () => {
  await f.close();
  await start({ max_messages: 2 });
  for (const b of ['1', '2', '3']) f.inject(message(b));
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(2);
  const errors = f.remote.filter((p) => p.type === 'error');
  expect(errors.length).toBe(1);
  expect(errors[0].element().attrs.id).toBe('m-3');
  expect(errors[0].element().getChild('error')!.elements[0].localName).toBe('service-unavailable');
});

test('a storage failure is not a silent loss: the sender gets internal-server-error', async () => {
  const offline = f.storage.offline as { push: (...args: unknown[]) => Promise<boolean> };
  const push = offline.push;
  offline.push = () => Promise.reject(new Error('disk full'));
  try {
    f.inject(message('lost?'));
    await f.settle();
  } finally {
    offline.push = push;
  }
  const errors = f.remote.filter((p) => p.type === 'error');
  expect(errors.map((e) => e.element().attrs.id)).toEqual(['m-lost?']);
  expect(errors[0].element().getChild('error')!.elements[0].localName).toBe('internal-server-error');
});

test('headline, groupchat and error messages are never stored', async () => {
  f.inject(message('h', 'headline'));
  f.inject(message('g', 'groupchat'));
  f.inject(message('e', 'error'));
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(0);
});

test('chat states alone are dropped; other bodiless messages are refused unless configured', async () => {
  f.inject("<message from='carol@remote.example/x' to='bob@example.com' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  f.inject("<message from='carol@remote.example/x' to='bob@example.com' id='r1'><received xmlns='urn:xmpp:receipts' id='a'/></message>");
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(0);
  expect(f.remote.map((p) => [p.type, p.element().attrs.id])).toEqual([['error', 'r1']]);
  await f.close();
  await start({ store_without_body: true });
  f.inject("<message from='carol@remote.example/x' to='bob@example.com' id='r1'><received xmlns='urn:xmpp:receipts' id='a'/></message>");
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(1);
});

test('hints: <store/> keeps a bodiless message, <no-store/> refuses one with a body', async () => {
  f.inject("<message from='carol@remote.example/x' to='bob@example.com'><store xmlns='urn:xmpp:hints'/><x xmlns='urn:example'/></message>");
  f.inject(message('secret', 'chat', "<no-store xmlns='urn:xmpp:hints'/>"));
  await f.settle();
  expect(await f.storage.offline.count(HOST, 'bob')).toBe(1);
  expect(f.remote.filter((p) => p.type === 'error').length).toBe(1);
});

test('messages to an account that does not exist are not stored (service-unavailable)', async () => {
  f.inject("<message from='carol@remote.example/x' to='nobody@example.com' type='chat'><body>x</body></message>");
  await f.settle();
  expect(f.remote.filter((p) => p.type === 'error').length).toBe(1);
});

test('the module announces msgoffline', () => {
  expect(f.core.features.list(HOST)).toContain('msgoffline');
});
