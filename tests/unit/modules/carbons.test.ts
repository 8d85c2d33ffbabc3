import { describe, expect, test } from 'bun:test';
import { isCarbonEligible, modCarboncopy } from '../../../modules/mod_carboncopy.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { parseXml } from '../core/fakes.ts';
import { imHarness } from './im-harness.ts';

const mods = [modCarboncopy as ModuleDefinition<unknown>];
const ENABLE = "<iq type='set' id='e1'><enable xmlns='urn:xmpp:carbons:2'/></iq>";

async function twoResourcesAndBob() {
  const h = await imHarness(mods);
  const phone = h.connect('alice@example.com/phone');
  const desktop = h.connect('alice@example.com/desktop');
  const bob = h.connect('bob@example.com/a');
  expect((await h.iq(phone, ENABLE)).attrs.type).toBe('result');
  expect((await h.iq(desktop, ENABLE.replace('e1', 'e2'))).attrs.type).toBe('result');
  phone.wire.length = 0;
  desktop.wire.length = 0;
  return { h, phone, desktop, bob };
}

describe('mod_carboncopy (XEP-0280)', () => {
  test('a sent chat message is carboned to the other enabled resource', async () => {
    const { h, phone, desktop, bob } = await twoResourcesAndBob();
    h.send(phone, "<message type='chat' id='m1' to='bob@example.com/a'><body>hi bob</body></message>");
    expect(bob.wire.length).toBe(1);
    expect(phone.wire.length).toBe(0);
    const carbon = h.received(desktop)[0];
    expect(carbon.attrs.from).toBe('alice@example.com');
    expect(carbon.attrs.to).toBe('alice@example.com/desktop');
    const inner = carbon.getChild('sent', 'urn:xmpp:carbons:2')!.getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!;
    expect(inner.attrs.from).toBe('alice@example.com/phone');
    expect(inner.attrs.to).toBe('bob@example.com/a');
    expect(inner.getChildText('body')).toBe('hi bob');
  });

  test('a received message to one resource is carboned to the other', async () => {
    const { h, phone, desktop, bob } = await twoResourcesAndBob();
    h.send(bob, "<message type='chat' id='m2' to='alice@example.com/phone'><body>hello</body></message>");
    expect(h.received(phone)[0].getChildText('body')).toBe('hello');
    const carbon = h.received(desktop)[0];
    const inner = carbon.getChild('received', 'urn:xmpp:carbons:2')!.getChild('forwarded')!.getChild('message')!;
    expect(inner.attrs.from).toBe('bob@example.com/a');
    expect(inner.getChildText('body')).toBe('hello');
  });

  test('a message to the bare JID reaching both resources is not carboned as well', async () => {
    const { h, phone, desktop, bob } = await twoResourcesAndBob();
    h.send(bob, "<message type='chat' id='m3' to='alice@example.com'><body>both</body></message>");
    expect(phone.wire.length).toBe(1);
    expect(desktop.wire.length).toBe(1);
    expect(h.received(desktop)[0].getChild('received', 'urn:xmpp:carbons:2')).toBeUndefined();
  });

  test('a lower-priority enabled resource gets a received carbon of a bare-JID message', async () => {
    const h = await imHarness(mods);
    const phone = h.connect('alice@example.com/phone', { priority: 5 });
    const desktop = h.connect('alice@example.com/desktop', { priority: 1 });
    const bob = h.connect('bob@example.com/a');
    await h.iq(desktop, ENABLE);
    desktop.wire.length = 0;
    h.send(bob, "<message type='chat' id='m4' to='alice@example.com'><body>to the best</body></message>");
    expect(phone.wire.length).toBe(1);
    expect(h.received(desktop)[0].getChild('received', 'urn:xmpp:carbons:2')).toBeDefined();
  });

  test('disabled resources, <private/>, <no-copy/>, errors and groupchat get no carbons', async () => {
    const { h, phone, desktop } = await twoResourcesAndBob();
    h.send(phone, "<message type='chat' to='bob@example.com/a'><body>psst</body><private xmlns='urn:xmpp:carbons:2'/></message>");
    h.send(phone, "<message type='chat' to='bob@example.com/a'><body>psst</body><no-copy xmlns='urn:xmpp:hints'/></message>");
    h.send(phone, "<message type='error' to='bob@example.com/a'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
    h.send(phone, "<message type='groupchat' to='room@conference.example.com'><body>all</body></message>");
    expect(desktop.wire.length).toBe(0);
    await h.iq(desktop, "<iq type='set' id='d1'><disable xmlns='urn:xmpp:carbons:2'/></iq>");
    desktop.wire.length = 0;
    h.send(phone, "<message type='chat' to='bob@example.com/a'><body>after disable</body></message>");
    expect(desktop.wire.length).toBe(0);
  });

  test('a forged <sent/> wrapper from another account is stripped before delivery', async () => {
    const { h, phone, bob } = await twoResourcesAndBob();
    h.send(bob, "<message type='chat' to='alice@example.com/phone'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message from='alice@example.com/desktop' to='mallory@example.com' type='chat'><body>I quit</body></message></forwarded></sent><body>innocent</body></message>");
    const got = h.received(phone)[0];
    expect(got.getChild('sent', 'urn:xmpp:carbons:2')).toBeUndefined();
    expect(got.getChildText('body')).toBe('innocent');
    expect(got.toString()).not.toContain('I quit');
  });

  test('eligibility follows §6', () => {
    expect(isCarbonEligible(parseXml("<message type='chat'/>"))).toBe(true);
    expect(isCarbonEligible(parseXml("<message><body>x</body></message>"))).toBe(true);
    expect(isCarbonEligible(parseXml("<message/>"))).toBe(false);
    expect(isCarbonEligible(parseXml("<message><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"))).toBe(true);
    expect(isCarbonEligible(parseXml("<message type='headline'><body>x</body></message>"))).toBe(false);
  });
});
