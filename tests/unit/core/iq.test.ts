import { describe, expect, test } from 'bun:test';
import { IqTimeoutError } from '../../../server/core/iq.ts';
import { parseJid } from '../../../server/jid.ts';
import { StanzaError } from '../../../server/errors.ts';
import { xml } from '../../../server/xml/element.ts';
import { FakeSession, normalized, packet, testCore } from './fakes.ts';

function setup() {
  const t = testCore();
  const alice = new FakeSession('alice@example.com/r');
  t.core.sessions.open(alice);
  const route = (s: string) => t.core.router.route(packet(s));
  const errorOf = (i = 0) => StanzaError.fromStanza(alice.sent[i].element()).condition;
  return { ...t, alice, route, errorOf };
}

const FROM = "from='alice@example.com/r'";

describe('IQ dispatch rules (RFC 6120 §8.2.3)', () => {
  test('a local handler answers with a payload; the reply swaps addresses and keeps the id', () => {
    const { core, alice, route } = setup();
    core.iq.register('local', 'example.com', 'jabber:iq:version', 'query', (req) => {
      expect([req.type, req.from.toString(), req.to.toString(), req.host]).toEqual(['get', 'alice@example.com/r', 'example.com', 'example.com']);
      return xml('query', { xmlns: 'jabber:iq:version' }, xml('name', {}, 'Meerkat'));
    });
    route(`<iq ${FROM} to='example.com' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`);
    expect(normalized(alice.wire[0])).toBe(normalized(
      "<iq from='example.com' id='v1' to='alice@example.com/r' type='result'><query xmlns='jabber:iq:version'><name>Meerkat</name></query></iq>",
    ));
  });

  test('null answers with an empty result', () => {
    const { core, alice, route } = setup();
    core.iq.register('local', 'example.com', 'urn:xmpp:ping', 'ping', () => null);
    route(`<iq ${FROM} to='example.com' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`);
    expect(normalized(alice.wire[0])).toBe(normalized("<iq from='example.com' id='p' to='alice@example.com/r' type='result'/>"));
  });

  test('lookup is by namespace AND element name, per host', () => {
    const { core, route, errorOf } = setup();
    core.iq.register('local', 'other.example', 'urn:xmpp:ping', 'ping', () => null);
    core.iq.register('local', 'example.com', 'urn:xmpp:ping', 'pong', () => null);
    route(`<iq ${FROM} to='example.com' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>`);
    expect(errorOf()).toBe('service-unavailable');
  });

  test('sm handlers answer on behalf of a user; local handlers do not', () => {
    const { core, alice, route } = setup();
    core.iq.register('local', 'example.com', 'vcard-temp', 'vCard', () => new StanzaError('forbidden'));
    core.iq.register('sm', 'example.com', 'vcard-temp', 'vCard', (req) => xml('vCard', { xmlns: 'vcard-temp' }, xml('FN', {}, req.to.local)));
    route(`<iq ${FROM} to='bob@example.com' type='get' id='vc'><vCard xmlns='vcard-temp'/></iq>`);
    expect(normalized(alice.wire[0])).toBe(normalized(
      "<iq from='bob@example.com' id='vc' to='alice@example.com/r' type='result'><vCard xmlns='vcard-temp'><FN>bob</FN></vCard></iq>",
    ));
  });

  test.each([
    ['no child', `<iq ${FROM} to='example.com' type='get' id='1'/>`],
    ['two children', `<iq ${FROM} to='example.com' type='get' id='1'><ping xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>`],
    ['no id', `<iq ${FROM} to='example.com' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`],
    ['no type', `<iq ${FROM} to='example.com' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`],
    ['unknown type', `<iq ${FROM} to='example.com' type='fetch' id='1'><ping xmlns='urn:xmpp:ping'/></iq>`],
  ])('malformed request (%s) → bad-request, handler not called', (_name, stanza) => {
    const { core, alice, route, errorOf } = setup();
    let called = 0;
    core.iq.register('local', 'example.com', 'urn:xmpp:ping', 'ping', () => { called++; return null; });
    route(stanza);
    expect(called).toBe(0);
    expect(alice.sent).toHaveLength(1);
    expect(errorOf()).toBe('bad-request');
  });

  test('results and errors are never answered, even unmatched or malformed', () => {
    const { alice, route, core } = setup();
    route(`<iq ${FROM} to='example.com' type='result' id='nobody-asked'/>`);
    route(`<iq ${FROM} to='example.com' type='error' id='nobody-asked'><a/><b/></iq>`);
    route(`<iq ${FROM} to='example.com' type='result'/>`);
    expect(alice.sent).toHaveLength(0);
    expect(core.router.stats.bounced).toBe(0);
  });

  test('a returned or thrown StanzaError becomes the reply; other throws are internal-server-error and logged', async () => {
    const { core, route, errorOf, logs } = setup();
    core.iq.register('local', 'example.com', 'urn:a', 'q', () => new StanzaError('not-allowed'));
    core.iq.register('local', 'example.com', 'urn:b', 'q', () => { throw new StanzaError('forbidden'); });
    core.iq.register('local', 'example.com', 'urn:c', 'q', () => { throw new Error('bug'); });
    core.iq.register('local', 'example.com', 'urn:d', 'q', async () => { throw new Error('async bug'); });
    for (const ns of ['urn:a', 'urn:b', 'urn:c', 'urn:d']) route(`<iq ${FROM} to='example.com' type='set' id='x'><q xmlns='${ns}'/></iq>`);
    await Bun.sleep(0);
    expect([0, 1, 2, 3].map((i) => errorOf(i))).toEqual(['not-allowed', 'forbidden', 'internal-server-error', 'internal-server-error']);
    expect(logs.map((l) => l.what)).toEqual(['iq_handler_failed', 'iq_handler_failed']);
  });

  test('async handlers answer later, with the hop count of the request plus one', async () => {
    const { core, alice, route } = setup();
    core.iq.register('local', 'example.com', 'urn:slow', 'q', async () => { await Bun.sleep(1); return xml('q', { xmlns: 'urn:slow' }); });
    route(`<iq ${FROM} to='example.com' type='get' id='s'><q xmlns='urn:slow'/></iq>`);
    expect(alice.sent).toHaveLength(0);
    await Bun.sleep(5);
    expect(alice.sent).toHaveLength(1);
    expect(alice.sent[0].type).toBe('result');
    expect(alice.sent[0].hops).toBe(1);
  });

  test('registering the same (ns, name) twice is a bug', () => {
    const { core } = setup();
    const remove = core.iq.register('local', 'example.com', 'urn:x', 'q', () => null);
    expect(() => core.iq.register('local', 'example.com', 'urn:x', 'q', () => null)).toThrow();
    remove();
    expect(core.iq.handlerFor('local', 'example.com', 'urn:x', 'q')).toBeUndefined();
    core.iq.register('local', 'example.com', 'urn:x', 'q', () => null);
  });
});

describe('server-originated IQs', () => {
  test('resolve with the result from the addressee', async () => {
    const { core, alice } = setup();
    const answer = core.sendIq('example.com', alice.jid, xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 1000);
    expect(alice.sent).toHaveLength(1);
    const id = alice.sent[0].id!;
    expect(alice.sent[0].from.toString()).toBe('example.com');
    core.router.route(packet(`<iq from='alice@example.com/r' to='example.com' type='result' id='${id}'/>`));
    expect((await answer).attrs.id).toBe(id);
    expect(core.iq.pendingCount).toBe(0);
  });

  test('an answer with the right id from someone else is ignored', async () => {
    const { core, alice } = setup();
    const mallory = new FakeSession('mallory@example.com/x');
    core.sessions.open(mallory);
    const answer = core.sendIq('example.com', alice.jid, xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 30);
    const id = alice.sent[0].id!;
    core.router.route(packet(`<iq from='mallory@example.com/x' to='example.com' type='result' id='${id}'/>`));
    expect(core.iq.pendingCount).toBe(1);
    expect(await answer.then(() => undefined, (e: unknown) => e)).toBeInstanceOf(IqTimeoutError);
    expect(core.iq.pendingCount).toBe(0);
  });

  test('an error answer rejects with its StanzaError', async () => {
    const { core, alice } = setup();
    const answer = core.sendIq('example.com', alice.jid, xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 1000);
    const id = alice.sent[0].id!;
    core.router.route(packet(
      `<iq from='alice@example.com/r' to='example.com' type='error' id='${id}'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
    ));
    const err = await answer.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StanzaError);
    expect((err as StanzaError).condition).toBe('feature-not-implemented');
    // A second answer to the same id finds nothing pending and is dropped.
    core.router.route(packet(`<iq from='alice@example.com/r' to='example.com' type='result' id='${id}'/>`));
    expect(core.iq.pendingCount).toBe(0);
  });

  test('a request to an unknown user fails through the error the router returns', async () => {
    const { core } = testCore({ userExists: () => false });
    const err = await core.sendIq('example.com', parseJid('ghost@example.com'), xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' })), 1000)
      .then(() => undefined, (e: unknown) => e);
    expect((err as StanzaError).condition).toBe('service-unavailable');
    expect(core.iq.pendingCount).toBe(0);
  });

  test('outstanding requests are bounded', async () => {
    const { core } = testCore({ maxPendingIq: 2 });
    const iq = () => xml('iq', { type: 'get' }, xml('ping', { xmlns: 'urn:xmpp:ping' }));
    // A domain route that swallows requests: nothing ever answers.
    core.router.addDomainRoute('sink.example', { route: () => {} });
    const sink = parseJid('sink.example');
    const a = core.sendIq('example.com', sink, iq(), 20);
    const b = core.sendIq('example.com', sink, iq(), 20);
    const c = core.sendIq('example.com', sink, iq(), 20);
    expect((await c.then(() => undefined, (e: unknown) => e) as StanzaError).condition).toBe('resource-constraint');
    await Promise.allSettled([a, b]);
    expect(core.iq.pendingCount).toBe(0);
  });
});
