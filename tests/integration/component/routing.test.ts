// Stanzas both ways between users and components over raw sockets, in the right content
// namespace on each stream; what a component may put in from/to; conflicts; subdomains;
// hidden components in the server's disco#items.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { RawClient } from '../../helpers/raw-client.ts';
import { parseJid } from '../../../server/jid.ts';
import { startComponentTestServer, SECRET, type ComponentTestServer } from './server.ts';
import { connectComponent, expectStreamError, loginUser, NS_STANZAS, openComponent, quiet, waitForElement } from './wire.ts';

let srv: ComponentTestServer;
let alice: RawClient;
beforeAll(async () => {
  srv = await startComponentTestServer({ 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' });
  alice = await loginUser(srv.ts, 'alice', 'alice-pw', 'phone');
});
afterAll(async () => {
  alice.close();
  await srv.ts.stop();
});

describe('user → component', () => {
  test('an IQ reaches the component in jabber:component:accept with the user as from; the result comes back in jabber:client', async () => {
    const comp = await connectComponent(srv.plain, 'svc.localhost', SECRET);
    alice.clear();
    alice.send(`<iq type='get' id='q1' to='svc.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
    const got = await waitForElement(comp, /<iq [^>]*id='q1'/);
    expect(got).toContain(`from='alice@localhost/phone'`);
    expect(got).toContain(`to='svc.localhost'`);
    expect(got).toContain(`xmlns='jabber:component:accept'`);
    expect(got).not.toContain('jabber:client');
    expect(got).toContain(`<query xmlns='http://jabber.org/protocol/disco#info'/>`);

    comp.send(`<iq type='result' id='q1' from='svc.localhost' to='alice@localhost/phone'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='component' type='generic' name='Svc'/></query></iq>`);
    const reply = await waitForElement(alice, /<iq [^>]*id='q1'/);
    expect(reply).toContain(`from='svc.localhost'`);
    expect(reply).toContain(`<identity category='component' type='generic' name='Svc'/>`);
    expect(reply).not.toContain('jabber:component:accept');
    comp.close();
  });

  test('a message body survives the trip both ways byte for byte (zero-copy, escapes kept)', async () => {
    const comp = await connectComponent(srv.plain, 'echo2.localhost', SECRET);
    alice.clear();
    alice.send(`<message type='chat' to='echo2.localhost' id='m1'><body>a &lt;b&gt; &amp; &#x263A;</body></message>`);
    const got = await waitForElement(comp, /<message [^>]*id='m1'/);
    expect(got).toContain(`<body>a &lt;b&gt; &amp; &#x263A;</body>`);
    comp.send(`<message type='chat' from='bot@echo2.localhost/x' to='alice@localhost' id='m2'><body>back &amp; forth</body></message>`);
    const back = await waitForElement(alice, /<message [^>]*id='m2'/);
    expect(back).toContain(`from='bot@echo2.localhost/x'`);
    expect(back).toContain(`<body>back &amp; forth</body>`);
    expect(back).not.toContain('component:accept');
    comp.close();
  });

  test('to a component domain nobody serves: remote-server-not-found', async () => {
    alice.clear();
    alice.send(`<iq type='get' id='q2' to='nobody.localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const reply = await waitForElement(alice, /<iq [^>]*id='q2'/);
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<remote-server-not-found xmlns='${NS_STANZAS}'/>`);
  });
});

describe('component → users', () => {
  test('to a full JID and to the bare JID', async () => {
    const comp = await connectComponent(srv.plain, 'notify.localhost', SECRET);
    alice.clear();
    comp.send(`<message from='notify.localhost' to='alice@localhost/phone' id='f1'><body>full</body></message>`);
    expect(await waitForElement(alice, /<message [^>]*id='f1'/)).toContain('<body>full</body>');
    comp.send(`<message from='notify.localhost' to='alice@localhost' id='b1'><body>bare</body></message>`);
    expect(await waitForElement(alice, /<message [^>]*id='b1'/)).toContain('<body>bare</body>');
    comp.close();
  });

  test('an IQ to an offline resource comes back as service-unavailable; an error is never answered', async () => {
    const comp = await connectComponent(srv.plain, 'asker.localhost', SECRET);
    comp.send(`<iq type='get' id='o1' from='asker.localhost' to='bob@localhost/none'><ping xmlns='urn:xmpp:ping'/></iq>`);
    const reply = await waitForElement(comp, /<iq [^>]*id='o1'/);
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<service-unavailable xmlns='${NS_STANZAS}'/>`);
    expect(reply).toContain(`xmlns='jabber:component:accept'`);
    comp.clear();
    comp.send(`<message type='error' id='e1' from='asker.localhost' to='bob@localhost/none'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></message>`);
    await quiet(comp);
    comp.close();
  });

  test('the server itself answers a component (disco#info on the host has no module here: service-unavailable from the IQ rules)', async () => {
    const comp = await connectComponent(srv.plain, 'prober.localhost', SECRET);
    comp.send(`<iq type='get' id='s1' from='prober.localhost' to='localhost'><query xmlns='urn:example:nothing'/></iq>`);
    const reply = await waitForElement(comp, /<iq [^>]*id='s1'/);
    expect(reply).toContain(`from='localhost'`);
    expect(reply).toContain(`to='prober.localhost'`);
    expect(reply).toContain(`<service-unavailable xmlns='${NS_STANZAS}'/>`);
    comp.close();
  });

  test('a malformed to is answered with jid-malformed from the component domain', async () => {
    const comp = await connectComponent(srv.plain, 'typo.localhost', SECRET);
    comp.send(`<message id='j1' from='typo.localhost' to='a@b@c'><body>x</body></message>`);
    const reply = await waitForElement(comp, /<message [^>]*id='j1'/);
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<jid-malformed xmlns='${NS_STANZAS}'/>`);
    comp.close();
  });
});

describe('addresses a component must use', () => {
  test('a from outside its domain: invalid-from', async () => {
    const comp = await connectComponent(srv.plain, 'strict.localhost', SECRET);
    comp.send(`<message from='other.localhost' to='alice@localhost'><body>spoof</body></message>`);
    await expectStreamError(comp, 'invalid-from');
  });

  test('a user of the server as from: invalid-from, and nothing reaches the user', async () => {
    const comp = await connectComponent(srv.plain, 'strict2.localhost', SECRET);
    alice.clear();
    comp.send(`<message from='bob@localhost/x' to='alice@localhost' id='spoof'><body>spoof</body></message>`);
    await expectStreamError(comp, 'invalid-from');
    await quiet(alice);
  });

  test('no from: invalid-from', async () => {
    const comp = await connectComponent(srv.plain, 'nofrom.localhost', SECRET);
    comp.send(`<message to='alice@localhost'><body>x</body></message>`);
    await expectStreamError(comp, 'invalid-from');
  });

  test('an invalid from: invalid-from', async () => {
    const comp = await connectComponent(srv.plain, 'badfrom.localhost', SECRET);
    comp.send(`<message from='a@@badfrom.localhost' to='alice@localhost'><body>x</body></message>`);
    await expectStreamError(comp, 'invalid-from');
  });

  test('no to: improper-addressing', async () => {
    const comp = await connectComponent(srv.plain, 'noto.localhost', SECRET);
    comp.send(`<message from='noto.localhost'><body>x</body></message>`);
    await expectStreamError(comp, 'improper-addressing');
  });

  test('a non-stanza element: unsupported-stanza-type', async () => {
    const comp = await connectComponent(srv.plain, 'odd.localhost', SECRET);
    comp.send(`<foo xmlns='urn:example'/>`);
    await expectStreamError(comp, 'unsupported-stanza-type');
  });

  test('with check_from = false, another domain may be used as from', async () => {
    const comp = await connectComponent(srv.noCheckFrom, 'gateway.localhost', SECRET);
    alice.clear();
    comp.send(`<message from='someone@legacy.example' to='alice@localhost/phone' id='g1'><body>via gateway</body></message>`);
    const got = await waitForElement(alice, /<message [^>]*id='g1'/);
    expect(got).toContain(`from='someone@legacy.example'`);
    comp.close();
  });

  test('with check_from = false, a from is still required', async () => {
    const comp = await connectComponent(srv.noCheckFrom, 'gateway2.localhost', SECRET);
    comp.send(`<message to='alice@localhost'><body>x</body></message>`);
    await expectStreamError(comp, 'invalid-from');
  });
});

describe('conflicts', () => {
  test('disconnect (default): the newcomer is refused with conflict, the first keeps working', async () => {
    const first = await connectComponent(srv.plain, 'dup.localhost', SECRET);
    const { c: second, id } = await openComponent(srv.plain, 'dup.localhost');
    const { digest } = await import('./wire.ts');
    second.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    await expectStreamError(second, 'conflict');
    alice.clear();
    alice.send(`<message to='dup.localhost' id='d1'><body>still there?</body></message>`);
    expect(await waitForElement(first, /<message [^>]*id='d1'/)).toContain('still there?');
    first.close();
  });

  test('kick_old: the old connection is closed with conflict and the new one gets the traffic', async () => {
    const old = await connectComponent(srv.kickOld, 'kick.localhost', SECRET);
    const fresh = await connectComponent(srv.kickOld, 'kick.localhost', SECRET);
    await expectStreamError(old, 'conflict');
    alice.clear();
    alice.send(`<message to='kick.localhost' id='k1'><body>new one</body></message>`);
    expect(await waitForElement(fresh, /<message [^>]*id='k1'/)).toContain('new one');
    expect(srv.ts.server.components.listComponents().filter((r) => r.name === 'kick.localhost')).toHaveLength(1);
    fresh.close();
  });
});

describe('is_subdomain', () => {
  test('the listener option registers name.<host>', async () => {
    const comp = await connectComponent(srv.subdomain, 'muc', SECRET);
    expect(srv.ts.server.components.listComponents().find((r) => r.name === 'muc')?.domains).toEqual(['muc.localhost']);
    alice.clear();
    alice.send(`<presence to='room@muc.localhost/alice' id='p1'/>`);
    const got = await waitForElement(comp, /<presence [^>]*id='p1'/);
    expect(got).toContain(`to='room@muc.localhost/alice'`);
    comp.send(`<message from='room@muc.localhost' to='alice@localhost/phone' id='s1'><subject>hi</subject></message>`);
    expect(await waitForElement(alice, /<message [^>]*id='s1'/)).toContain(`from='room@muc.localhost'`);
    // check_from applies to the registered domain, not the bare name.
    comp.send(`<message from='muc' to='alice@localhost'/>`);
    await expectStreamError(comp, 'invalid-from');
  });

  test('a component asks for it in its header with is_subdomain="true"', async () => {
    const comp = await connectComponent(srv.plain, 'pubsub', SECRET, ` is_subdomain='true'`);
    expect(srv.ts.server.components.has('pubsub.localhost')).toBe(true);
    expect(srv.ts.server.components.has('pubsub')).toBe(false);
    comp.close();
  });
});

describe('hidden components and disco#items', () => {
  async function itemsSeenBy(client: RawClient, id: string, from?: string): Promise<string[]> {
    client.clear();
    client.send(`<iq type='get' id='${id}' to='localhost'${from ? ` from='${from}'` : ''}><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`);
    const reply = await waitForElement(client, new RegExp(`<iq [^>]*id='${id}'`));
    return [...reply.matchAll(/<item [^>]*jid='([^']+)'/g)].map((m) => m[1]!);
  }

  test('hidden components are left out of a local user\'s disco#items (users_can_see_hidden_services = false), listed for components, and reachable', async () => {
    const shown = await connectComponent(srv.plain, 'shown.localhost', SECRET);
    const hidden = await connectComponent(srv.hidden, 'secret.localhost', SECRET);
    const registry = srv.ts.server.components;
    expect(registry.isHidden('secret.localhost')).toBe(true);
    expect(registry.isHidden('shown.localhost')).toBe(false);

    const seenByAlice = await itemsSeenBy(alice, 'di1');
    expect(seenByAlice).toContain('shown.localhost');
    expect(seenByAlice).not.toContain('secret.localhost');
    // Another component (not a local user) still sees it.
    expect(await itemsSeenBy(shown, 'di2', 'shown.localhost')).toEqual(expect.arrayContaining(['shown.localhost', 'secret.localhost']));

    alice.clear();
    alice.send(`<iq type='get' id='h1' to='secret.localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    expect(await waitForElement(hidden, /<iq [^>]*id='h1'/)).toContain(`from='alice@localhost/phone'`);
    shown.close();
    hidden.close();
  });

  test('only subdomains of the host are listed under it', async () => {
    const elsewhere = await connectComponent(srv.plain, 'bridge.example.net', SECRET);
    expect(await itemsSeenBy(alice, 'di3')).not.toContain('bridge.example.net');
    elsewhere.close();
  });
});
