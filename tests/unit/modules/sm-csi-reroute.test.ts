// A session that ends while mod_csi holds stanzas for it (XEP-0352 inactive) does not lose
// them: messages are rerouted (here to offline storage), presence is dropped.

import { expect, test } from 'bun:test';
import { modCsi } from '../../../modules/mod_csi.ts';
import { modOffline } from '../../../modules/mod_offline.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { Element } from '../../../server/xml/element.ts';
import { imHarness } from './im-harness.ts';

test('held messages go to offline storage when an inactive session ends; held presence does not', async () => {
  const h = await imHarness([modCsi, modOffline] as ModuleDefinition<unknown>[]);
  const alice = h.connect('alice@example.com/phone');
  const bob = h.connect('bob@example.com/a');
  h.core.hooks.run('c2s_stream_element', 'example.com', { session: alice, element: new Element('inactive', { xmlns: 'urn:xmpp:csi:0' }) });
  h.send(bob, "<presence to='alice@example.com/phone'><show>away</show></presence>");
  // No body, so not urgent: held. The hint asks offline storage to keep it.
  h.send(bob, "<message type='chat' id='r1' to='alice@example.com/phone'><received xmlns='urn:xmpp:receipts' id='x'/><store xmlns='urn:xmpp:hints'/></message>");
  expect(alice.wire).toEqual([]);
  h.core.sessions.remove(alice, 'connection closed');
  await h.settle();
  const back = h.connect('alice@example.com/desktop');
  await h.settle();
  const got = h.received(back).filter((e) => e.attrs.from === 'bob@example.com/a');
  expect(got.map((e) => `${e.localName}:${e.attrs.id ?? ''}`)).toEqual(['message:r1']);
  expect(got[0]!.getChild('received', 'urn:xmpp:receipts')).toBeDefined();
});
