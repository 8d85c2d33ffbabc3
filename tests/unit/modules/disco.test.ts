// mod_disco (XEP-0030, XEP-0115): the server's identity and features from loaded modules,
// items from hooks, account info on bare JIDs, and the caps verification string.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { capsVerification, modDisco, serverCaps } from '../../../modules/mod_disco.ts';
import { modOffline } from '../../../modules/mod_offline.ts';
import type { FakeSession } from '../core/fakes.ts';
import { HOST, received, rosterFixture, type Fixture } from './roster-fixture.ts';

let f: Fixture;
let alice: FakeSession;

beforeEach(async () => {
  f = await rosterFixture({
    definitions: [modDisco as ModuleDefinition<unknown>, modOffline as ModuleDefinition<unknown>],
    modules: { mod_roster: {}, mod_disco: {} },
  });
  alice = f.connect('alice@example.com/phone');
  await f.settle();
});

afterEach(async () => {
  await f.close();
});

async function ask(to: string, query: string) {
  alice.sent.length = 0;
  f.send(alice, `<iq type='get' id='d1' to='${to}'>${query}</iq>`);
  await f.settle();
  return received(alice, 'iq').find((r) => r.el.attrs.id === 'd1')!;
}

test('XEP-0115 §5.2 example: the verification string', () => {
  const ver = capsVerification(
    [{ category: 'client', type: 'pc', name: 'Exodus 0.9.1' }],
    ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'http://jabber.org/protocol/muc', 'http://jabber.org/protocol/caps'],
  );
  expect(ver).toBe('QgayPKawpkPSDYmwT/WM94uAlu0=');
});

test('disco#info on the server: identity server/im and the features of loaded modules only', async () => {
  const reply = await ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  expect(reply.type).toBe('result');
  const q = reply.el.getChild('query')!;
  expect(q.getChildren('identity').map((i) => i.attrs)).toEqual([{ category: 'server', type: 'im', name: 'Meerkat' }]);
  const features = q.getChildren('feature').map((e) => e.attrs.var);
  expect(features).toEqual(['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items', 'jabber:iq:roster']);
  // mod_offline is known to the registry but not loaded: no msgoffline.
  expect(features).not.toContain('msgoffline');
});

test('disco_local_features and disco_local_items handlers add to the answers', async () => {
  f.core.hooks.add('disco_local_features', HOST, ({ features }) => { features.push('urn:example:extra'); });
  f.core.hooks.add('disco_local_items', HOST, ({ items, node }) => {
    if (node === '') items.push({ jid: 'upload.example.com', name: 'Uploads' });
  });
  const info = await ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  expect(info.el.getChild('query')!.getChildren('feature').map((e) => e.attrs.var)).toContain('urn:example:extra');
  const items = await ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#items'/>");
  expect(items.el.getChild('query')!.getChildren('item').map((i) => i.attrs)).toEqual([{ jid: 'upload.example.com', name: 'Uploads' }]);
});

test('the caps node answers like disco#info; the ver matches the answer; other nodes are item-not-found', async () => {
  const caps = serverCaps(f.core.hooks, HOST)!;
  expect(caps.hash).toBe('sha-1');
  const plain = (await ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#info'/>")).el.getChild('query')!;
  const recomputed = capsVerification(
    plain.getChildren('identity').map((i) => ({ category: i.attrs.category, type: i.attrs.type, name: i.attrs.name })),
    plain.getChildren('feature').map((e) => e.attrs.var),
  );
  expect(caps.ver).toBe(recomputed);
  const node = `${caps.node}#${caps.ver}`;
  const viaNode = await ask(HOST, `<query xmlns='http://jabber.org/protocol/disco#info' node='${node}'/>`);
  expect(viaNode.type).toBe('result');
  expect(viaNode.el.getChild('query')!.attrs.node).toBe(node);
  expect(viaNode.el.getChild('query')!.getChildren('feature').length).toBe(plain.getChildren('feature').length);
  const other = await ask(HOST, "<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/>");
  expect(other.type).toBe('error');
  expect(other.el.getChild('error')!.elements[0].localName).toBe('item-not-found');
});

test('disco#info on an account: identity account/registered and disco_sm_features', async () => {
  f.core.hooks.add('disco_sm_features', HOST, ({ features }) => { features.push('urn:xmpp:mam:2'); });
  const reply = await ask('bob@example.com', "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  const q = reply.el.getChild('query')!;
  expect(q.getChildren('identity').map((i) => i.attrs)).toEqual([{ category: 'account', type: 'registered' }]);
  expect(q.getChildren('feature').map((e) => e.attrs.var)).toContain('urn:xmpp:mam:2');
  const items = await ask('bob@example.com', "<query xmlns='http://jabber.org/protocol/disco#items'/>");
  expect(items.type).toBe('result');
});

test('an account that does not exist is service-unavailable', async () => {
  const reply = await ask('nobody@example.com', "<query xmlns='http://jabber.org/protocol/disco#info'/>");
  expect(reply.el.getChild('error')!.elements[0].localName).toBe('service-unavailable');
});
