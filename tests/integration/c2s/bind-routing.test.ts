// Resource binding (RFC 6120 §7), the legacy session IQ, and what a bound stream does with
// stanzas: 'from' checked, 'to' validated, IQ rules, errors never answered.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { authPlain, bind, connectTls, expectStreamError, login, NS_BIND, NS_STANZAS, openStream, type Wire } from './wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw', 'carol@localhost': 'carol-pw' },
  });
});
afterAll(async () => {
  await ts.stop();
});

async function authenticated(user: string, password: string): Promise<Wire> {
  const { wire } = await connectTls(ts);
  await authPlain(wire, user, password);
  await openStream(wire);
  wire.clear();
  return wire;
}

async function iqReply(wire: Wire, xml: string, id: string): Promise<string> {
  wire.clear();
  wire.send(xml);
  const text = await wire.waitFor(new RegExp(`<iq [^>]*id='${id}'[^>]*(/>|>.*?</iq>)`, 's'));
  return new RegExp(`<iq [^>]*id='${id}'[^>]*(/>|>.*?</iq>)`, 's').exec(text)![0];
}

/** Nothing arrives within a short while (for "is never answered" checks). */
async function quiet(wire: Wire, ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(wire.text).toBe('');
}

describe('resource binding', () => {
  test('the server generates a resource when none is asked for', async () => {
    const wire = await authenticated('alice', 'alice-pw');
    const jid = await bind(wire);
    expect(jid).toMatch(/^alice@localhost\/[A-Za-z0-9_-]{8,}$/);
    wire.close();
  });

  test('the requested resource is bound', async () => {
    const wire = await authenticated('alice', 'alice-pw');
    expect(await bind(wire, 'laptop')).toBe('alice@localhost/laptop');
    wire.close();
  });

  test('an invalid resource is bad-request and the stream stays open for another try', async () => {
    const wire = await authenticated('alice', 'alice-pw');
    const reply = await iqReply(wire, `<iq type='set' id='b1'><bind xmlns='${NS_BIND}'><resource>${'r'.repeat(1100)}</resource></bind></iq>`, 'b1');
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<error type='modify'><bad-request xmlns='${NS_STANZAS}'/>`);
    expect(await bind(wire, 'second-try')).toBe('alice@localhost/second-try');
    wire.close();
  });

  test('a second login with the same resource replaces the older session, which gets <conflict/>', async () => {
    const first = await login(ts, 'bob', 'bob-pw', 'phone');
    const second = await login(ts, 'bob', 'bob-pw', 'phone');
    expect(second.jid).toBe('bob@localhost/phone');
    await expectStreamError(first.wire, 'conflict');
    // The newer session is the one that receives.
    const alice = await login(ts, 'alice', 'alice-pw', 'conflict-test');
    alice.wire.send(`<message to='bob@localhost/phone' id='m1'><body>who has it?</body></message>`);
    await second.wire.waitFor('who has it?');
    second.wire.close();
    alice.wire.close();
  });

  test('the legacy session IQ is answered with an empty result, before and after bind', async () => {
    const wire = await authenticated('carol', 'carol-pw');
    // Advertised as optional (RFC 6121 erratum / draft-cridland-xmpp-session).
    const before = await iqReply(wire, `<iq type='set' id='s0'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`, 's0');
    expect(before).toBe(`<iq type='result' id='s0'/>`);
    await bind(wire, 'sess');
    const after = await iqReply(wire, `<iq type='set' id='s1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`, 's1');
    expect(after).toMatch(/^<iq type='result' id='s1'( [^>]*)?\/>$/);
    wire.close();
  });

  test('binding twice on one stream is refused', async () => {
    const wire = await authenticated('carol', 'carol-pw');
    await bind(wire, 'once');
    const reply = await iqReply(wire, `<iq type='set' id='b2'><bind xmlns='${NS_BIND}'><resource>twice</resource></bind></iq>`, 'b2');
    expect(reply).toContain(`<not-allowed xmlns='${NS_STANZAS}'/>`);
    wire.close();
  });

  test('a stanza other than bind before binding is not-authorized', async () => {
    const wire = await authenticated('carol', 'carol-pw');
    wire.send(`<message to='alice@localhost'><body>too early</body></message>`);
    await expectStreamError(wire, 'not-authorized');
  });
});

describe('stanzas from a bound session', () => {
  test("a 'from' naming someone else is invalid-from", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'spoof');
    wire.send(`<message from='bob@localhost/phone' to='carol@localhost'><body>it was bob</body></message>`);
    await expectStreamError(wire, 'invalid-from');
  });

  test("a 'from' naming another resource of the same account is invalid-from", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'spoof2');
    wire.send(`<presence from='alice@localhost/other'/>`);
    await expectStreamError(wire, 'invalid-from');
  });

  test("the own full or bare JID as 'from' is accepted", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'honest');
    const full = await iqReply(wire, `<iq type='get' id='f1' from='alice@localhost/honest' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`, 'f1');
    expect(full).toContain(`type='result'`);
    const bare = await iqReply(wire, `<iq type='get' id='f2' from='alice@localhost' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`, 'f2');
    expect(bare).toContain(`type='result'`);
    wire.close();
  });

  test("a 'from' that is the own JID written in another case is accepted (compared after normalization)", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'Case');
    const reply = await iqReply(wire, `<iq type='get' id='f3' from='ALICE@LocalHost/Case' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`, 'f3');
    expect(reply).toContain(`type='result'`);
    wire.close();
  });

  test("a 'from' whose resource differs only in case is invalid-from", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'case2');
    wire.send(`<message from='alice@localhost/CASE2' to='bob@localhost'><body>x</body></message>`);
    await expectStreamError(wire, 'invalid-from');
  });

  test("a malformed 'to' is answered with jid-malformed from the server", async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'jm');
    wire.clear();
    wire.send(`<message to='a@b@c@@' id='jm1' type='chat'><body>x</body></message>`);
    await wire.waitFor('</message>');
    expect(wire.text).toContain(`type='error'`);
    expect(wire.text).toContain(`id='jm1'`);
    expect(wire.text).toContain(`<jid-malformed xmlns='${NS_STANZAS}'/>`);
    expect(wire.text).toMatch(/from='localhost'/);
    wire.close();
  });

  test('an IQ without id is bad-request', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'noid');
    wire.clear();
    wire.send(`<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await wire.waitFor('</iq>');
    expect(wire.text).toContain(`type='error'`);
    expect(wire.text).toContain(`<bad-request xmlns='${NS_STANZAS}'/>`);
    wire.close();
  });

  test('an IQ with two children is bad-request', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'twokids');
    const reply = await iqReply(wire, `<iq type='get' id='two' to='localhost'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>`, 'two');
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<bad-request xmlns='${NS_STANZAS}'/>`);
    wire.close();
  });

  test('an IQ get nobody handles is service-unavailable', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'unhandled');
    const reply = await iqReply(wire, `<iq type='get' id='u1' to='localhost'><query xmlns='urn:example:nothing'/></iq>`, 'u1');
    expect(reply).toContain(`type='error'`);
    expect(reply).toContain(`<service-unavailable xmlns='${NS_STANZAS}'/>`);
    expect(reply).toContain(`from='localhost'`);
    wire.close();
  });

  test('an IQ get to the own bare JID nobody handles is service-unavailable', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'unhandled-bare');
    const reply = await iqReply(wire, `<iq type='get' id='u2'><query xmlns='urn:example:nothing'/></iq>`, 'u2');
    expect(reply).toContain(`<service-unavailable xmlns='${NS_STANZAS}'/>`);
    wire.close();
  });

  test('an IQ of type error or result to the server is never answered', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'errs');
    wire.clear();
    wire.send(`<iq type='error' id='e1' to='localhost'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
    wire.send(`<iq type='result' id='e2' to='localhost'/>`);
    await quiet(wire);
    wire.close();
  });

  test('an error message to an unknown user is never answered', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'errs2');
    wire.clear();
    wire.send(`<message type='error' to='nobody@localhost' id='e3'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></message>`);
    wire.send(`<presence type='error' to='nobody@localhost/x' id='e4'/>`);
    wire.send(`<iq type='error' to='nobody@localhost/x' id='e5'/>`);
    await quiet(wire);
    wire.close();
  });

  test('an error message with a malformed to is not answered either', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'errs3');
    wire.clear();
    wire.send(`<message type='error' to='@@bad' id='e6'/>`);
    await quiet(wire);
    wire.close();
  });

  test('a message to an unknown local user comes back as service-unavailable', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'unk');
    wire.clear();
    wire.send(`<iq type='get' to='nobody@localhost/x' id='nx'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await wire.waitFor('</iq>');
    expect(wire.text).toContain(`type='error'`);
    expect(wire.text).toMatch(/<(service-unavailable|item-not-found|recipient-unavailable) /);
    wire.close();
  });

  test('a stream-level element unknown after binding is unsupported-stanza-type', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'sm');
    wire.send(`<enable xmlns='urn:example:not-sm'/>`);
    await expectStreamError(wire, 'unsupported-stanza-type');
  });

  test('the client closing its stream ends the session', async () => {
    const { wire } = await login(ts, 'carol', 'carol-pw', 'closing');
    const before = ts.server.core.sessions.size;
    wire.send('</stream:stream>');
    const text = await wire.waitForClose();
    expect(text.trimEnd().endsWith('</stream:stream>')).toBe(true);
    expect(ts.server.core.sessions.size).toBe(before - 1);
  });

  test('two users exchange messages and the sender address is the full JID', async () => {
    const alice = await login(ts, 'alice', 'alice-pw', 'chat');
    const bob = await login(ts, 'bob', 'bob-pw', 'chat');
    alice.wire.send(`<message to='bob@localhost/chat' type='chat' id='hi'><body>hello bob</body></message>`);
    const text = await bob.wire.waitFor('</message>');
    expect(text).toContain(`from='alice@localhost/chat'`);
    expect(text).toContain('<body>hello bob</body>');
    alice.wire.close();
    bob.wire.close();
  });
});
