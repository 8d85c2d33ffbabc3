// XEP-0198 over raw sockets against a real server: the feature, enabling, acks both ways,
// the h rules, the buffer limit, resumption (correct h, another user, expiry, pipelined,
// takeover of a still-open connection) and what happens to unacknowledged stanzas when a
// session ends for good: rerouted to offline storage, or an error back to an IQ's sender.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { bind, expectStreamError, login, NS_STANZAS, type Wire } from '../c2s/wire.ts';
import { authenticated, bodies, NS_SM, resume, sendNumbered, smLogin, waitForBodies } from './sm-wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({
    users: {
      'alice@localhost': 'alice-pw',
      'bob@localhost': 'bob-pw',
      'carol@localhost': 'carol-pw',
      'dave@localhost': 'dave-pw',
      'erin@localhost': 'erin-pw',
      'frank@localhost': 'frank-pw',
      'gina@localhost': 'gina-pw',
    },
    toml: `
[modules.mod_stream_management]
resume_timeout = "60s"
max_unacked = 8
ack_request_every = 3
ack_request_delay = "60s"
[modules.mod_offline]
[modules.mod_ping]
`,
  });
});
afterAll(async () => {
  await ts.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Logs in to the offline store: available presence, then the stored messages. */
async function loginForOffline(user: string, password: string, resource: string): Promise<Wire> {
  const { wire } = await login(ts, user, password, resource);
  wire.send('<presence/>');
  return wire;
}

describe('stream feature and enabling', () => {
  test('<sm/> is offered after authentication, not before', async () => {
    const { wire, features } = await authenticated(ts, 'alice', 'alice-pw');
    expect(features).toContain(`<sm xmlns='${NS_SM}'/>`);
    wire.close();
  });

  test('enable with resume gets an unguessable id, resume=true and the configured max', async () => {
    const a = await smLogin(ts, 'alice', 'alice-pw', 'feature');
    const b = await smLogin(ts, 'alice', 'alice-pw', 'feature2');
    expect(a.enabled).toBe(`<enabled xmlns='${NS_SM}' id='${a.id}' resume='true' max='60'/>`);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{24,}$/);
    expect(a.id).not.toBe(b.id);
    a.wire.close();
    b.wire.close();
  });

  test('enable before bind and a second enable are unexpected-request', async () => {
    const { wire } = await authenticated(ts, 'alice', 'alice-pw');
    wire.send(`<enable xmlns='${NS_SM}'/>`);
    expect(await wire.waitFor('</failed>')).toContain(`<failed xmlns='${NS_SM}'><unexpected-request xmlns='${NS_STANZAS}'/></failed>`);
    await bind(wire, 'twice');
    wire.send(`<enable xmlns='${NS_SM}'/>`);
    await wire.waitFor(`<enabled xmlns='${NS_SM}'/>`);
    wire.clear();
    wire.send(`<enable xmlns='${NS_SM}'/>`);
    expect(await wire.waitFor('</failed>')).toContain('<unexpected-request');
    wire.close();
  });
});

describe('acks', () => {
  test('the server counts the stanzas it handled from the enable on', async () => {
    const { wire } = await smLogin(ts, 'alice', 'alice-pw', 'count');
    wire.send(`<presence/><iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq><message to='localhost'><body>x</body></message><r xmlns='${NS_SM}'/>`);
    expect(await wire.waitFor(/<a xmlns='urn:xmpp:sm:3' h='\d+'\/>/)).toContain(`<a xmlns='${NS_SM}' h='3'/>`);
    wire.close();
  });

  test('the server asks for an ack after ack_request_every stanzas and forgets what the client acknowledged', async () => {
    const alice = await smLogin(ts, 'alice', 'alice-pw', 'acks');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'acks');
    sendNumbered(bob, alice.jid, 'ack', 0, 3);
    await alice.wire.waitFor(`<r xmlns='${NS_SM}'/>`);
    const text = alice.wire.text;
    // The request follows the third stanza.
    expect(text.indexOf(`<r xmlns='${NS_SM}'/>`)).toBeGreaterThan(text.lastIndexOf('ack-2'));
    alice.wire.send(`<a xmlns='${NS_SM}' h='3'/>`);
    // Acknowledged stanzas are gone: a clean close reroutes nothing (no offline copies).
    alice.wire.send('</stream:stream>');
    await alice.wire.waitForClose();
    const again = await loginForOffline('alice', 'alice-pw', 'acks-check');
    await sleep(200);
    expect(bodies(again.text)).toEqual([]);
    again.close();
    bob.close();
  });

  test('an h above what was sent is undefined-condition with handled-count-too-high; the unacked go offline', async () => {
    const carol = await smLogin(ts, 'carol', 'carol-pw', 'high');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'high');
    sendNumbered(bob, carol.jid, 'high', 0, 2);
    await waitForBodies(carol.wire, 2);
    carol.wire.send(`<a xmlns='${NS_SM}' h='7'/>`);
    const text = await expectStreamError(carol.wire, 'undefined-condition');
    expect(text).toContain(`<handled-count-too-high xmlns='${NS_SM}' h='7' send-count='2'/>`);
    const again = await loginForOffline('carol', 'carol-pw', 'high2');
    expect(await waitForBodies(again, 2)).toEqual(['high-0', 'high-1']);
    expect(again.text).toContain("<delay xmlns='urn:xmpp:delay'");
    again.close();
    bob.close();
  });

  test('more than max_unacked waiting stanzas is resource-constraint, and all of them go to offline storage', async () => {
    const dave = await smLogin(ts, 'dave', 'dave-pw', 'limit');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'limit');
    const sent = sendNumbered(bob, dave.jid, 'lim', 0, 9);
    await expectStreamError(dave.wire, 'resource-constraint');
    const again = await loginForOffline('dave', 'dave-pw', 'limit2');
    expect(await waitForBodies(again, 9)).toEqual(sent);
    again.close();
    bob.close();
  });
});

describe('resumption', () => {
  test('resume with the client h: the missed stanzas (and those sent meanwhile) come again once, in order', async () => {
    const erin = await smLogin(ts, 'erin', 'erin-pw', 'phone');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'res');
    // Erin sends one stanza the server handles before the drop.
    erin.wire.send(`<presence/>`);
    const first = sendNumbered(bob, erin.jid, 'r', 0, 5);
    await waitForBodies(erin.wire, 5);
    // The client says it processed only two of them, then the connection is gone.
    erin.wire.close();
    await sleep(100);
    const meanwhile = sendNumbered(bob, erin.jid, 'r', 5, 2);
    await sleep(100);
    const { wire, answer } = await resume(ts, 'erin', 'erin-pw', erin.id!, 2);
    expect(answer).toBe(`<resumed xmlns='${NS_SM}' previd='${erin.id}' h='1'/>`);
    const expected = [...first.slice(2), ...meanwhile];
    expect(await waitForBodies(wire, expected.length)).toEqual(expected);
    await sleep(150);
    expect(bodies(wire.text)).toEqual(expected);
    // The resumed stream keeps counting: the server asks for an ack of what it re-sent.
    expect(wire.text).toContain(`<r xmlns='${NS_SM}'/>`);
    wire.send(`<a xmlns='${NS_SM}' h='7'/>`);
    // And it is the same session: new messages arrive on it.
    sendNumbered(bob, erin.jid, 'r', 7, 1);
    await wire.waitFor('r-7');
    wire.close();
    bob.close();
  });

  test('a message for a hibernating resource is buffered for it, not sent elsewhere', async () => {
    const alice = await smLogin(ts, 'alice', 'alice-pw', 'sleepy');
    const other = await smLogin(ts, 'alice', 'alice-pw', 'awake');
    alice.wire.close();
    await sleep(100);
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'sleepy');
    sendNumbered(bob, alice.jid, 'zz', 0, 1);
    const { wire, answer } = await resume(ts, 'alice', 'alice-pw', alice.id!, 0);
    expect(answer).toStartWith('<resumed ');
    expect(await waitForBodies(wire, 1)).toEqual(['zz-0']);
    expect(bodies(other.wire.text)).toEqual([]);
    wire.close();
    other.wire.close();
    bob.close();
  });

  test('a resume by another user is item-not-found without h; the owner still resumes afterwards', async () => {
    const frank = await smLogin(ts, 'frank', 'frank-pw', 'mine');
    frank.wire.close();
    await sleep(100);
    const intruder = await resume(ts, 'bob', 'bob-pw', frank.id!, 0);
    expect(intruder.answer).toBe(`<failed xmlns='${NS_SM}'><item-not-found xmlns='${NS_STANZAS}'/></failed>`);
    intruder.wire.close();
    const owner = await resume(ts, 'frank', 'frank-pw', frank.id!, 0);
    expect(owner.answer).toStartWith('<resumed ');
    owner.wire.close();
  });

  test('an unknown id is item-not-found; the stream stays usable for a normal bind', async () => {
    const { wire, answer } = await resume(ts, 'alice', 'alice-pw', 'no-such-id', 0);
    expect(answer).toBe(`<failed xmlns='${NS_SM}'><item-not-found xmlns='${NS_STANZAS}'/></failed>`);
    expect(await bind(wire, 'after-failed')).toBe('alice@localhost/after-failed');
    wire.close();
  });

  test('after the timeout: item-not-found with the old h, and the unacked messages wait in offline storage', async () => {
    const carol = await smLogin(ts, 'carol', 'carol-pw', 'expire', { max: 1 });
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'expire');
    carol.wire.send(`<presence/>`);
    const sent = sendNumbered(bob, carol.jid, 'exp', 0, 3);
    await waitForBodies(carol.wire, 3);
    carol.wire.close();
    await sleep(1500);
    const late = await resume(ts, 'carol', 'carol-pw', carol.id!, 0);
    expect(late.answer).toBe(`<failed xmlns='${NS_SM}' h='1'><item-not-found xmlns='${NS_STANZAS}'/></failed>`);
    late.wire.close();
    const again = await loginForOffline('carol', 'carol-pw', 'expire2');
    expect(await waitForBodies(again, 3)).toEqual(sent);
    again.close();
    bob.close();
  });

  test('pipelined: stanzas sent right after <resume/> are handled on the resumed session', async () => {
    const dave = await smLogin(ts, 'dave', 'dave-pw', 'pipe');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'pipe');
    dave.wire.close();
    await sleep(100);
    const { wire, answer } = await resume(ts, 'dave', 'dave-pw', dave.id!, 0,
      `<message type='chat' to='${'bob@localhost/pipe'}'><body>pipelined</body></message><r xmlns='${NS_SM}'/>`);
    expect(answer).toStartWith('<resumed ');
    await bob.waitFor('pipelined');
    expect(bob.text).toContain(`from='${dave.jid}'`);
    await wire.waitFor(`<a xmlns='${NS_SM}' h='1'/>`);
    wire.close();
    bob.close();
  });

  test('a resume while the old connection is still open takes the session over; the old one gets conflict', async () => {
    const alice = await smLogin(ts, 'alice', 'alice-pw', 'takeover');
    const { wire, answer } = await resume(ts, 'alice', 'alice-pw', alice.id!, 0);
    expect(answer).toStartWith('<resumed ');
    await expectStreamError(alice.wire, 'conflict');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'takeover');
    sendNumbered(bob, alice.jid, 'to', 0, 1);
    await wire.waitFor('to-0');
    wire.close();
    bob.close();
  });

  test('a session closed cleanly cannot be resumed, and its unacked stanzas went offline', async () => {
    const gina = await smLogin(ts, 'gina', 'gina-pw', 'clean');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'clean');
    const sent = sendNumbered(bob, gina.jid, 'clean', 0, 2);
    await waitForBodies(gina.wire, 2);
    gina.wire.send('</stream:stream>');
    await gina.wire.waitForClose();
    const late = await resume(ts, 'gina', 'gina-pw', gina.id!, 0);
    expect(late.answer).toBe(`<failed xmlns='${NS_SM}' h='0'><item-not-found xmlns='${NS_STANZAS}'/></failed>`);
    late.wire.close();
    const again = await loginForOffline('gina', 'gina-pw', 'clean2');
    expect(await waitForBodies(again, 2)).toEqual(sent);
    again.close();
    bob.close();
  });

  test('an IQ request never acknowledged is answered service-unavailable when the session ends', async () => {
    const frank = await smLogin(ts, 'frank', 'frank-pw', 'iq');
    const { wire: bob } = await login(ts, 'bob', 'bob-pw', 'iq');
    bob.send(`<iq type='get' id='v1' to='${frank.jid}'><query xmlns='jabber:iq:version'/></iq>`);
    await frank.wire.waitFor("id='v1'");
    frank.wire.send('</stream:stream>');
    const text = await bob.waitFor(/<iq [^>]*id='v1'[^>]*>.*?<\/iq>/s);
    expect(text).toContain("type='error'");
    expect(text).toContain(`<service-unavailable xmlns='${NS_STANZAS}'/>`);
    bob.close();
  });
});
