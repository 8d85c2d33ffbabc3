// A stanza read on one kind of stream and written to another is moved into the content
// namespace of the stream it is written to: on the zero-copy path (spliced bytes) and on
// the serializing path (an element). Namespaces a stanza declares for its payload stay.
// Also the component header rules with several hosts.

import { describe, expect, test } from 'bun:test';
import { XmlStream, type StanzaView, type StreamHeader } from '../../../parser-wasm/host/index.ts';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid } from '../../../server/jid.ts';
import { xml } from '../../../server/xml/element.ts';
import { checkComponentHeader } from '../../../server/streams/component-header.ts';
import { handshakeDigest, handshakeMatches } from '../../../server/streams/component-handshake.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const header = (ns: string) => `<stream:stream xmlns='${ns}' xmlns:stream='http://etherx.jabber.org/streams'>`;

/** Feeds one stanza after a header and returns what `use` makes of its view. */
function withView<T>(streamNs: string, stanza: string, use: (v: StanzaView) => T, mode: 'stream' | 'document' = 'stream'): T {
  let out: T | undefined;
  const s = new XmlStream({ onStreamOpen() {}, onStanza: (v) => { out = use(v); }, onStreamClose() {}, onError(e) { throw new Error(e.message); } }, { mode });
  s.feed(encoder.encode(mode === 'stream' ? header(streamNs) + stanza : stanza));
  s.free();
  return out!;
}

const bytes = (parts: Uint8Array[] | string) => (typeof parts === 'string' ? parts : parts.map((p) => decoder.decode(p)).join(''));
const alice = parseJid('alice@localhost/phone');
const comp = parseJid('svc.localhost');

describe('content namespace on the zero-copy path', () => {
  test('a client stanza written to a component stream is in jabber:component:accept, payload untouched', () => {
    const out = withView('jabber:client', `<iq type='get' id='1' to='svc.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, (v) =>
      bytes(Packet.fromView(v, alice, comp).bytesFor({ from: alice, to: comp }, 'jabber:component:accept')));
    expect(out).toBe(`<iq type='get' id='1' from='alice@localhost/phone' to='svc.localhost' xmlns='jabber:component:accept'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`);
  });

  test('a component stanza written to a client stream is in jabber:client (the default)', () => {
    const out = withView('jabber:component:accept', `<message from='svc.localhost' to='alice@localhost'><body>hi</body></message>`, (v) =>
      bytes(Packet.fromView(v, comp, alice).bytesFor({ from: comp, to: alice })));
    expect(out).toBe(`<message from='svc.localhost' to='alice@localhost/phone' xmlns='jabber:client'><body>hi</body></message>`);
  });

  test('a declaration on the stanza itself (a WebSocket frame) is replaced, not doubled', () => {
    const out = withView('', `<message xmlns='jabber:client' to='svc.localhost'><body>x</body></message>`, (v) =>
      bytes(Packet.fromView(v, alice, comp).bytesFor({ from: alice, to: comp }, 'jabber:component:accept')), 'document');
    expect(out).toBe(`<message from='alice@localhost/phone' to='svc.localhost' xmlns='jabber:component:accept'><body>x</body></message>`);
  });

  test('a forwarded jabber:client message inside the payload keeps its namespace', () => {
    const stanza = `<message to='svc.localhost'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='b@x'><body>old</body></message></forwarded></message>`;
    const out = withView('jabber:client', stanza, (v) => bytes(Packet.fromView(v, alice, comp).bytesFor({ from: alice, to: comp }, 'jabber:component:accept')));
    expect(out).toContain(`<message xmlns='jabber:client' to='b@x'><body>old</body></message>`);
    expect(out.startsWith(`<message from='alice@localhost/phone' to='svc.localhost' xmlns='jabber:component:accept'>`)).toBe(true);
  });

  test('the same namespace is left as it was', () => {
    const out = withView('jabber:client', `<message to='bob@localhost'><body>x</body></message>`, (v) =>
      bytes(Packet.fromView(v, alice, parseJid('bob@localhost')).bytesFor({ from: alice, to: parseJid('bob@localhost') })));
    expect(out).toBe(`<message from='alice@localhost/phone' to='bob@localhost' xmlns='jabber:client'><body>x</body></message>`);
  });

  test('a stanza in a namespace that is not a content namespace is not moved', () => {
    const out = withView('jabber:client', `<message xmlns='urn:example:other' to='svc.localhost'/>`, (v) =>
      bytes(v.spliceAttributes({}, { contentNamespace: 'jabber:component:accept' })));
    expect(out).toBe(`<message xmlns='urn:example:other' to='svc.localhost'/>`);
  });
});

describe('content namespace on the serializing path', () => {
  test('a detached component stanza is serialized in jabber:client for a client', () => {
    const packet = withView('jabber:component:accept', `<message from='svc.localhost' to='alice@localhost'><body>hi</body></message>`, (v) =>
      Packet.fromView(v, comp, alice).detach());
    expect(bytes(packet.bytesFor({ from: comp, to: alice }))).toBe(`<message from='svc.localhost' to='alice@localhost/phone' xmlns='jabber:client'><body>hi</body></message>`);
    // The shared element is not changed by one recipient's rendering.
    expect(packet.element().attrs.xmlns).toBe('jabber:component:accept');
  });

  test('an element a module built without xmlns inherits the stream namespace', () => {
    const el = xml('message', { from: 'localhost', to: 'svc.localhost' }, xml('body', {}, 'x'));
    const out = bytes(Packet.fromElement(el).bytesFor({}, 'jabber:component:accept'));
    expect(out).toBe(`<message from='localhost' to='svc.localhost'><body>x</body></message>`);
  });
});

describe('component header rules', () => {
  const streamHeader = (attrs: Record<string, string>, ns = 'jabber:component:accept'): StreamHeader => ({
    name: 'stream:stream',
    local: 'stream',
    ns: 'http://etherx.jabber.org/streams',
    attrs: Object.entries(attrs).map(([name, value]) => ({ name, local: name, prefix: '', ns: '', value })),
    attr: (n) => attrs[n],
    namespaces: new Map([['', ns], ['stream', 'http://etherx.jabber.org/streams']]),
  });
  const hosts = ['a.example', 'b.example'];
  const rules = { hosts, isServedHost: (d: string) => hosts.includes(d), subdomainByDefault: false };

  test('is_subdomain registers the name under every host', () => {
    expect(checkComponentHeader(streamHeader({ to: 'muc', is_subdomain: 'true' }), rules)).toMatchObject({ ok: true, name: 'muc', domains: ['muc.a.example', 'muc.b.example'] });
    expect(checkComponentHeader(streamHeader({ to: 'muc' }), { ...rules, subdomainByDefault: true })).toMatchObject({ ok: true, domains: ['muc.a.example', 'muc.b.example'] });
  });

  test('a domain is normalized; a host of the server is refused', () => {
    expect(checkComponentHeader(streamHeader({ to: 'MUC.A.Example' }), rules)).toMatchObject({ ok: true, domains: ['muc.a.example'] });
    expect(checkComponentHeader(streamHeader({ to: 'b.example' }), rules)).toMatchObject({ ok: false, condition: 'host-unknown' });
    expect(checkComponentHeader(streamHeader({ to: 'x/y' }), rules)).toMatchObject({ ok: false, condition: 'host-unknown' });
  });

  test('the default namespace decides: invalid-namespace', () => {
    expect(checkComponentHeader(streamHeader({ to: 'muc.a.example' }, 'jabber:server'), rules)).toMatchObject({ ok: false, condition: 'invalid-namespace' });
  });
});

describe('handshake digest', () => {
  test('is the hex SHA-1 of the stream id followed by the secret (XEP-0114 example)', () => {
    // Computed independently: printf '3BF96D32secret' | sha1sum
    expect(handshakeDigest('3BF96D32', 'secret')).toBe('b09ea9b3b7f586be8a08d0a3dd7466f110aeb136');
    expect(handshakeMatches(handshakeDigest('id1', 's'), 'id1', 's')).toBe(true);
    expect(handshakeMatches(handshakeDigest('id1', 's'), 'id2', 's')).toBe(false);
    expect(handshakeMatches('', 'id1', 's')).toBe(false);
  });
});
