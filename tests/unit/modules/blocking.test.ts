import { describe, expect, test } from 'bun:test';
import { blocks, modBlocking } from '../../../modules/mod_blocking.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { parseJid } from '../../../server/jid.ts';
import { xml } from '../../../server/xml/element.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const mods = [modBlocking as ModuleDefinition<unknown>];
const BLOCK_BOB = "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/></block></iq>";

describe('mod_blocking (XEP-0191)', () => {
  test('block, list, unblock one, unblock all', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    expect((await h.iq(alice, "<iq type='get' id='g0'><blocklist xmlns='urn:xmpp:blocking'/></iq>")).getChild('blocklist')!.children.length).toBe(0);
    expect((await h.iq(alice, "<iq type='set' id='b0'><block xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/><item jid='spam.example'/></block></iq>")).attrs.type).toBe('result');
    const list = await h.iq(alice, "<iq type='get' id='g1'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    expect(list.getChild('blocklist')!.getChildren('item').map((i) => i.attrs.jid)).toEqual(['bob@example.com', 'spam.example']);
    await h.iq(alice, "<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='spam.example'/></unblock></iq>");
    expect((await h.iq(alice, "<iq type='get' id='g2'><blocklist xmlns='urn:xmpp:blocking'/></iq>")).getChild('blocklist')!.getChildren('item').map((i) => i.attrs.jid)).toEqual(['bob@example.com']);
    await h.iq(alice, "<iq type='set' id='u2'><unblock xmlns='urn:xmpp:blocking'/></iq>");
    expect((await h.iq(alice, "<iq type='get' id='g3'><blocklist xmlns='urn:xmpp:blocking'/></iq>")).getChild('blocklist')!.children.length).toBe(0);
  });

  test('changes are pushed to the resources that fetched the list, and only to them', async () => {
    const h = await imHarness(mods);
    const phone = h.connect('alice@example.com/phone');
    const desktop = h.connect('alice@example.com/desktop');
    const watch = h.connect('alice@example.com/watch');
    await h.iq(desktop, "<iq type='get' id='g1'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    desktop.wire.length = 0;
    await h.iq(phone, BLOCK_BOB);
    const push = h.received(desktop).find((e) => e.attrs.type === 'set')!;
    expect(push.getChild('block', 'urn:xmpp:blocking')!.getChild('item')!.attrs.jid).toBe('bob@example.com');
    expect(watch.wire.length).toBe(0);
  });

  test('stanzas from a blocked contact: message → service-unavailable, presence dropped, IQ → service-unavailable', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    await h.iq(alice, BLOCK_BOB);
    alice.wire.length = 0;
    bob.wire.length = 0;
    h.send(bob, "<message type='chat' id='m1' to='alice@example.com/phone'><body>hey</body></message>");
    h.send(bob, "<presence to='alice@example.com/phone'/>");
    h.send(bob, "<iq type='get' id='q1' to='alice@example.com/phone'><query xmlns='jabber:iq:version'/></iq>");
    expect(alice.wire.length).toBe(0);
    const errors = h.received(bob);
    expect(errors.map((e) => [e.localName, errorCondition(e)])).toEqual([['message', 'service-unavailable'], ['iq', 'service-unavailable']]);
  });

  test('sending to a blocked contact is refused with not-acceptable and <blocked/>', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    await h.iq(alice, BLOCK_BOB);
    alice.wire.length = 0;
    h.send(alice, "<message type='chat' id='m2' to='bob@example.com'><body>hi</body></message>");
    expect(bob.wire.length).toBe(0);
    const error = h.received(alice)[0];
    expect(errorCondition(error)).toBe('not-acceptable');
    expect(error.getChild('error')!.getChild('blocked', 'urn:xmpp:blocking:errors')).toBeDefined();
  });

  test('unblocking restores delivery', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    await h.iq(alice, BLOCK_BOB);
    await h.iq(alice, "<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/></unblock></iq>");
    alice.wire.length = 0;
    h.send(bob, "<message type='chat' to='alice@example.com/phone'><body>back</body></message>");
    expect(h.received(alice)[0].getChildText('body')).toBe('back');
  });

  test('a list not yet loaded holds the stanza until it is known: nothing slips through', async () => {
    const h = await imHarness(mods);
    await h.storage.kv.set('example.com', 'carol', 'mod_blocking', 'bob@example.com', '');
    const bob = h.connect('bob@example.com/a');
    // carol is offline and her list was never loaded: the message waits for it, then bounces.
    h.send(bob, "<message type='chat' id='m3' to='carol@example.com'><body>hello?</body></message>");
    await h.settle();
    const answer = h.received(bob).find((e) => e.attrs.id === 'm3')!;
    expect(errorCondition(answer)).toBe('service-unavailable');
  });

  test('the blocked contact sees the user go offline if subscribed', async () => {
    const h = await imHarness(mods);
    h.core.hooks.add('roster_get', 'example.com', ({ items }) => {
      items.push(xml('item', { jid: 'bob@example.com', subscription: 'both' }));
    });
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    await h.iq(alice, BLOCK_BOB);
    const presence = h.received(bob).find((e) => e.localName === 'presence')!;
    expect(presence.attrs.type).toBe('unavailable');
    expect(presence.attrs.from).toBe('alice@example.com/phone');
  });

  test('JID matching: full, bare and domain entries', () => {
    const list = new Set(['bob@example.com', 'spam.example', 'carol@example.com/work']);
    expect(blocks(list, parseJid('bob@example.com/x'))).toBe(true);
    expect(blocks(list, parseJid('anyone@spam.example/r'))).toBe(true);
    expect(blocks(list, parseJid('carol@example.com/work'))).toBe(true);
    expect(blocks(list, parseJid('carol@example.com/home'))).toBe(false);
    expect(blocks(list, parseJid('dave@example.com'))).toBe(false);
  });
});
