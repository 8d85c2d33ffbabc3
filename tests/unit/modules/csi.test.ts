import { describe, expect, test } from 'bun:test';
import { modCsi } from '../../../modules/mod_csi.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { Element } from '../../../server/xml/element.ts';
import type { FakeSession } from '../core/fakes.ts';
import { imHarness, type ImHarness } from './im-harness.ts';

const mods = [modCsi as ModuleDefinition<unknown>];

function streamElement(h: ImHarness, session: FakeSession, name: 'active' | 'inactive'): boolean {
  return !h.core.hooks.run('c2s_stream_element', 'example.com', { session, element: new Element(name, { xmlns: 'urn:xmpp:csi:0' }) });
}

describe('mod_csi (XEP-0352)', () => {
  test('offers the stream feature after authentication only', async () => {
    const h = await imHarness(mods);
    const after: Element[] = [];
    const before: Element[] = [];
    h.core.hooks.run('c2s_stream_features', 'example.com', { host: 'example.com', authenticated: true, features: after });
    h.core.hooks.run('c2s_stream_features', 'example.com', { host: 'example.com', authenticated: false, features: before });
    expect(after.map((f) => f.toString())).toEqual(["<csi xmlns='urn:xmpp:csi:0'/>"]);
    expect(before).toEqual([]);
  });

  test('while inactive, presence and chat states wait; a message with a body flushes them in order', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    expect(streamElement(h, alice, 'inactive')).toBe(true);
    h.send(bob, "<presence to='alice@example.com/phone'><show>away</show></presence>");
    h.send(bob, "<message type='chat' to='alice@example.com/phone'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
    expect(alice.wire.length).toBe(0);
    h.send(bob, "<message type='chat' to='alice@example.com/phone'><body>wake up</body></message>");
    expect(h.received(alice).map((e) => e.localName)).toEqual(['presence', 'message', 'message']);
    expect(h.received(alice)[2].getChildText('body')).toBe('wake up');
  });

  test('<active/> flushes what waited; afterwards everything goes straight through', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    streamElement(h, alice, 'inactive');
    h.send(bob, "<presence to='alice@example.com/phone'/>");
    expect(alice.wire.length).toBe(0);
    expect(streamElement(h, alice, 'active')).toBe(true);
    expect(alice.wire.length).toBe(1);
    h.send(bob, "<presence to='alice@example.com/phone'><show>dnd</show></presence>");
    expect(alice.wire.length).toBe(2);
  });

  test('a newer presence from the same contact replaces the queued one; IQs are not held', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    streamElement(h, alice, 'inactive');
    h.send(bob, "<presence to='alice@example.com/phone'><show>away</show></presence>");
    h.send(bob, "<presence to='alice@example.com/phone'><show>xa</show></presence>");
    h.send(bob, "<iq type='get' id='i1' to='alice@example.com/phone'><ping xmlns='urn:xmpp:ping'/></iq>");
    // The IQ is urgent: it flushes the single remaining presence before it.
    const got = h.received(alice);
    expect(got.map((e) => e.localName)).toEqual(['presence', 'iq']);
    expect(got[0].getChildText('show')).toBe('xa');
  });

  test('the queue is bounded: reaching max_queue delivers everything', async () => {
    const h = await imHarness(mods, { modules: { mod_csi: { max_queue: 3 } } });
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    streamElement(h, alice, 'inactive');
    for (let i = 0; i < 3; i++) h.send(bob, `<message type='chat' to='alice@example.com/phone'><active xmlns='http://jabber.org/protocol/chatstates'/><thread>${i}</thread></message>`);
    expect(alice.wire.length).toBe(3);
  });

  test('elements of other namespaces are left to others', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    expect(h.core.hooks.run('c2s_stream_element', 'example.com', { session: alice, element: new Element('enable', { xmlns: 'urn:xmpp:sm:3' }) })).toBe(true);
  });
});
