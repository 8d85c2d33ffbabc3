// mod_event_pusher's push backend (XEP-0357, XMPP server role): enable/disable and their
// validation, disco, what is published for which message, and what an app server's answers do.

import { expect, test } from 'bun:test';
import { Element } from '../../../server/xml/element.ts';
import { parseJid } from '../../../server/jid.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { modDisco } from '../../../modules/mod_disco.ts';
import { modEventPusher } from '../../../modules/mod_event_pusher/index.ts';
import { errorCondition, imHarness } from './im-harness.ts';
import type { FakeSession } from '../core/fakes.ts';
import { APP, chat, enableIq, HOST, NS_PUSH, publishOptionsForm, publishOptionsOf, pushHarness, RemoteSink, summaryOf, type PushHarness } from './push-harness.ts';

const ALICE = parseJid('alice@example.com');

async function enabled(h: PushHarness, session: FakeSession, id = 'e1', node = 'node1', form = ''): Promise<void> {
  const answer = await h.iq(session, enableIq(id, APP, node, form));
  expect(answer.attrs.type).toBe('result');
}

/** alice enables push from her phone, then goes offline. */
async function aliceRegisteredAndGone(h: PushHarness, form = ''): Promise<void> {
  const phone = h.connect('alice@example.com/phone');
  await enabled(h, phone, 'e1', 'node1', form);
  h.core.sessions.remove(phone);
}

test('disco#info on the account lists urn:xmpp:push:0 only with the module', async () => {
  const h = await pushHarness();
  const alice = h.connect('alice@example.com/a');
  const info = await h.iq(alice, "<iq type='get' id='d1' to='alice@example.com'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  expect(info.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).toContain(NS_PUSH);

  const plain = await imHarness([modDisco as ModuleDefinition<unknown>]);
  const bob = plain.connect('bob@example.com/a');
  const none = await plain.iq(bob, "<iq type='get' id='d2' to='bob@example.com'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  expect(none.getChild('query')!.getChildren('feature').map((f) => f.attrs.var)).not.toContain(NS_PUSH);
});

test('enable is validated: missing jid or node, a bad FORM_TYPE → bad-request; IQ get → not-allowed; another account → forbidden', async () => {
  const h = await pushHarness();
  const alice = h.connect('alice@example.com/a');
  const cases: Array<[string, string]> = [
    [`<iq type='set' id='v1'><enable xmlns='${NS_PUSH}' node='n'/></iq>`, 'bad-request'],
    [`<iq type='set' id='v2'><enable xmlns='${NS_PUSH}' jid='${APP}'/></iq>`, 'bad-request'],
    [`<iq type='set' id='v3'><enable xmlns='${NS_PUSH}' jid='a@@b' node='n'/></iq>`, 'bad-request'],
    [enableIq('v4', APP, 'n', publishOptionsForm({ secret: 's' }, 'urn:example:wrong')), 'bad-request'],
    [enableIq('v5', APP, 'n', `<x xmlns='jabber:x:data' type='submit'><field var='secret'><value>s</value></field></x>`), 'bad-request'],
    [`<iq type='get' id='v6'><enable xmlns='${NS_PUSH}' jid='${APP}' node='n'/></iq>`, 'not-allowed'],
    [`<iq type='get' id='v7'><disable xmlns='${NS_PUSH}' jid='${APP}'/></iq>`, 'not-allowed'],
    [`<iq type='set' id='v8'><disable xmlns='${NS_PUSH}'/></iq>`, 'bad-request'],
    [`<iq type='set' id='v9' to='bob@example.com'><enable xmlns='${NS_PUSH}' jid='${APP}' node='n'/></iq>`, 'forbidden'],
  ];
  for (const [stanza, condition] of cases) {
    const answer = await h.iq(alice, stanza);
    expect([answer.attrs.id, answer.attrs.type, errorCondition(answer)]).toEqual([answer.attrs.id, 'error', condition]);
  }
  expect(await h.state.push!.registrations(ALICE)).toEqual([]);
  expect(await h.state.push!.registrations(parseJid('bob@example.com'))).toEqual([]);
});

test('several registrations per account (one per device), the same node again replaces its options, and a bound', async () => {
  const h = await pushHarness({ mod_event_pusher: { push: { max_registrations_per_user: 2 } } });
  const phone = h.connect('alice@example.com/phone');
  const tablet = h.connect('alice@example.com/tablet');
  await enabled(h, phone, 'p1', 'phone-node', publishOptionsForm({ secret: 'one' }));
  await enabled(h, tablet, 't1', 'tablet-node');
  await enabled(h, phone, 'p2', 'phone-node', publishOptionsForm({ secret: 'two' }));
  const regs = await h.state.push!.registrations(ALICE);
  expect(regs.map((r) => [r.node, r.resource, r.options])).toEqual([
    ['tablet-node', 'tablet', []],
    ['phone-node', 'phone', [['secret', ['two']]]],
  ]);
  const third = await h.iq(phone, enableIq('p3', APP, 'third'));
  expect(errorCondition(third)).toBe('resource-constraint');
  // Stored: a fresh module instance on the same storage reads them back.
  const stored = await h.storage.kv.list(HOST, 'alice', 'push');
  expect(stored).toHaveLength(2);
});

test('a message with a body for an offline user is published as a summary with the publish-options, and is also stored offline', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h, publishOptionsForm({ secret: 'eruio234vzxc2kla-91' }));
  h.inject(chat('Wherefore art thou, Romeo?', 'juliet@capulet.example/balcony'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
  const iq = h.app.publishes[0]!;
  expect(iq.attrs).toMatchObject({ type: 'set', from: 'alice@example.com', to: APP });
  expect(iq.getChild('pubsub')!.getChild('publish')!.attrs.node).toBe('node1');
  expect(summaryOf(iq)).toEqual({
    FORM_TYPE: 'urn:xmpp:push:summary',
    'message-count': '1',
    'last-message-sender': 'juliet@capulet.example',
    'last-message-body': 'Wherefore art thou, Romeo?',
  });
  expect(publishOptionsOf(iq)).toEqual({ FORM_TYPE: 'http://jabber.org/protocol/pubsub#publish-options', secret: 'eruio234vzxc2kla-91' });
  expect(await h.storage.offline.count(HOST, 'alice')).toBe(1);
  expect(h.state.push!.stats).toMatchObject({ triggered: 1, published: 1, results: 1, errors: 0 });
});

test('message-count grows while offline and starts again after available presence', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h);
  h.inject(chat('one'));
  await h.idle();
  h.inject(chat('two'));
  await h.idle();
  expect(h.app.publishes.map((p) => summaryOf(p)['message-count'])).toEqual(['1', '2']);
  const back = h.connect('alice@example.com/phone');
  await h.idle();
  h.core.sessions.remove(back);
  h.inject(chat('three'));
  await h.idle();
  expect(summaryOf(h.app.publishes[2]!)['message-count']).toBe('1');
});

test('include_body / include_sender = false leave those fields out', async () => {
  const h = await pushHarness({ mod_event_pusher: { push: { include_body: false, include_sender: false } } });
  await aliceRegisteredAndGone(h);
  h.inject(chat('secret text'));
  await h.idle();
  expect(summaryOf(h.app.publishes[0]!)).toEqual({ FORM_TYPE: 'urn:xmpp:push:summary', 'message-count': '1' });
});

test('nothing is published for body-less messages, errors, headlines, or an online recipient', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h);
  h.inject(chat(undefined));
  h.inject("<message from='carol@remote.example/x' to='alice@example.com' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
  h.inject(chat('x', 'carol@remote.example/x', 'alice@example.com', 'error'));
  h.inject(chat('x', 'carol@remote.example/x', 'alice@example.com', 'headline'));
  h.inject(chat('x', 'carol@remote.example/x', 'alice@example.com', 'groupchat'));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
  const desk = h.connect('alice@example.com/desk');
  h.inject(chat('you are online'));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
  expect(h.received(desk).some((e) => e.getChildText('body') === 'you are online')).toBe(true);
});

test('after disable nothing is published; disable without node removes every node of that service', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  await enabled(h, phone, 'a', 'n1');
  await enabled(h, phone, 'b', 'n2');
  const answer = await h.iq(phone, `<iq type='set' id='d'><disable xmlns='${NS_PUSH}' jid='${APP}' node='n1'/></iq>`);
  expect(answer.attrs.type).toBe('result');
  expect((await h.state.push!.registrations(ALICE)).map((r) => r.node)).toEqual(['n2']);
  await h.iq(phone, `<iq type='set' id='d2'><disable xmlns='${NS_PUSH}' jid='${APP}'/></iq>`);
  expect(await h.state.push!.registrations(ALICE)).toEqual([]);
  h.core.sessions.remove(phone);
  h.inject(chat('anyone?'));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
});

test('an error answer disables that registration (and only that one); a wait error does not', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  await enabled(h, phone, 'a', 'n1');
  h.core.sessions.remove(phone);
  h.app.answer = 'resource-constraint'; // type wait
  h.inject(chat('one'));
  await h.idle();
  expect((await h.state.push!.registrations(ALICE)).map((r) => r.node)).toEqual(['n1']);
  h.app.answer = 'item-not-found';
  h.inject(chat('two'));
  await h.idle();
  expect(await h.state.push!.registrations(ALICE)).toEqual([]);
  expect(h.state.push!.stats).toMatchObject({ published: 2, errors: 2, disabled: 1 });
  expect(h.logs.filter((l) => l.what === 'push_registration_disabled')).toHaveLength(1);
  h.inject(chat('three'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(2);
});

test('an unknown app server domain answers with remote-server-not-found, which disables the registration at once', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  const answer = await h.iq(phone, enableIq('a', 'push.nowhere.example', 'n1'));
  expect(answer.attrs.type).toBe('result');
  h.core.sessions.remove(phone);
  h.inject(chat('hello'));
  await h.idle();
  expect(await h.state.push!.registrations(ALICE)).toEqual([]);
  expect(h.core.router.stats.hopLimitDrops).toBe(0);
});

test('answers are matched by id and sender: a forged error from elsewhere changes nothing and is not answered', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h);
  h.app.answer = 'silent';
  h.inject(chat('one'));
  await h.idle();
  const id = h.app.publishes[0]!.attrs.id!;
  const routedBefore = h.core.router.stats.routed;
  h.inject(`<iq type='error' id='${id}' from='evil.example' to='alice@example.com'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
  h.inject(`<iq type='error' id='${id}' from='${APP}' to='bob@example.com'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`);
  h.inject(`<iq type='result' id='push-unknown-1' from='${APP}' to='alice@example.com'/>`);
  await h.idle();
  expect(h.core.router.stats.routed - routedBefore).toBe(3); // the three injected, nothing in answer
  expect((await h.state.push!.registrations(ALICE)).length).toBe(1);
  expect(h.state.push!.publisher.pendingCount).toBe(1);
  // Ours by id but wrong sender or wrong account; the third id is not one of ours (the IQ dispatcher drops it).
  expect(h.state.push!.stats.strayAnswers).toBe(2);
});

test('one publish in flight per registration: later messages are folded into the next summary', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h);
  h.app.deferred = true;
  for (let i = 1; i <= 5; i++) h.inject(chat(`m${i}`));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
  expect(h.state.push!.publisher.pendingCount).toBe(1);
  h.app.flush();
  await h.idle();
  expect(h.app.publishes).toHaveLength(2);
  expect(summaryOf(h.app.publishes[1]!)).toMatchObject({ 'message-count': '5', 'last-message-body': 'm5' });
  h.app.flush();
  await h.idle();
  expect(h.app.publishes).toHaveLength(2);
  expect(h.state.push!.publisher.pendingCount).toBe(0);
  expect(h.state.push!.publisher.inFlight).toBe(0);
});

test('an app server that never answers: the publish times out, the registration stays', async () => {
  const h = await pushHarness({ mod_event_pusher: { push: { publish_timeout: '30ms' } } });
  await aliceRegisteredAndGone(h);
  h.app.answer = 'silent';
  h.inject(chat('one'));
  await h.idle();
  await new Promise((r) => setTimeout(r, 60));
  expect(h.state.push!.stats.timeouts).toBe(1);
  expect(h.state.push!.publisher.pendingCount).toBe(0);
  expect(await h.state.push!.registrations(ALICE)).toHaveLength(1);
});

test('a message from the app server\'s own domain triggers no push to it', async () => {
  const h = await pushHarness();
  await aliceRegisteredAndGone(h);
  h.inject(chat('you have news', `bot@${APP}`));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
  expect(h.state.push!.stats.skippedSelf).toBe(1);
});

test('CSI-inactive sessions only: pushed once per message; an active session anywhere: not pushed', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  const tablet = h.connect('alice@example.com/tablet');
  await enabled(h, phone);
  const inactive = new Element('inactive', { xmlns: 'urn:xmpp:csi:0' });
  h.core.hooks.run('c2s_stream_element', HOST, { session: phone, element: inactive });
  h.inject(chat('tablet is active'));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
  h.core.hooks.run('c2s_stream_element', HOST, { session: tablet, element: inactive });
  h.inject(chat('both asleep'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
  expect(summaryOf(h.app.publishes[0]!)['last-message-body']).toBe('both asleep');
  // The message itself still reached both sessions (CSI delivers bodies at once).
  expect(h.received(phone).filter((e) => e.getChildText('body') === 'both asleep')).toHaveLength(1);
  expect(h.received(tablet).filter((e) => e.getChildText('body') === 'both asleep')).toHaveLength(1);
  h.core.hooks.run('c2s_stream_element', HOST, { session: phone, element: new Element('active', { xmlns: 'urn:xmpp:csi:0' }) });
  h.inject(chat('phone is back'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
});

test('a session that stream management hibernated (session.hibernated) counts as unreachable', async () => {
  const h = await pushHarness();
  const phone = h.connect('alice@example.com/phone');
  await enabled(h, phone);
  (phone as FakeSession & { hibernated?: boolean }).hibernated = true;
  h.inject(chat('while you were away'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
  (phone as FakeSession & { hibernated?: boolean }).hibernated = false;
  h.inject(chat('resumed'));
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
});

test('with mod_offline refusing (store full) the push still goes and the sender gets one error', async () => {
  const h = await pushHarness({ mod_offline: { max_messages: 1 } });
  const remote = new RemoteSink(h);
  await aliceRegisteredAndGone(h);
  h.inject(chat('fits'));
  await h.idle();
  h.inject(chat('does not fit'));
  await h.idle();
  expect(h.app.publishes.length).toBe(2);
  expect(await h.storage.offline.count(HOST, 'alice')).toBe(1);
  expect([remote.count, remote.errors]).toEqual([1, 1]);
});

test('mod_event_pusher alone (no mod_offline) pushes, and the sender gets service-unavailable as before', async () => {
  const h = await pushHarness({}, [modEventPusher as ModuleDefinition<unknown>]);
  const bob = h.connect('bob@example.com/b');
  await aliceRegisteredAndGone(h);
  h.send(bob, "<message to='alice@example.com' type='chat' id='x1'><body>hi</body></message>");
  await h.idle();
  expect(h.app.publishes).toHaveLength(1);
  const errors = h.received(bob).filter((e) => e.attrs.type === 'error');
  expect(errors.map((e) => errorCondition(e))).toEqual(['service-unavailable']);
});
