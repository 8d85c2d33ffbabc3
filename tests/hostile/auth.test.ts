// Gaps the c2s integration tests leave (docs/security.md lists what they cover): stream
// compression requests (XEP-0138) are refused cleanly and never offered, and resource
// binding refuses control characters and resources over 1023 bytes while the stream stays
// usable.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { header, HostileSocket, login, plain, streamErrorCondition } from './hostile-socket.ts';

const NS_COMPRESS = 'http://jabber.org/protocol/compress';
let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'alice-pw' } });
});
afterAll(() => ts.stop());

describe('stream compression (XEP-0138)', () => {
  test('is never offered, before or after authentication', async () => {
    const s = await HostileSocket.connect(ts.tlsPort, { ca: ts.ca });
    s.send(header());
    const before = await s.waitFor('</stream:features>');
    expect(before).not.toContain('compression');
    s.clear();
    s.send(plain('alice', 'alice-pw'));
    await s.waitFor('<success');
    s.clear();
    s.send(header());
    const after = await s.waitFor('</stream:features>');
    expect(after).not.toContain('compression');
    s.close();
  });

  test('a <compress/> request before authentication ends the stream with a stream error, nothing compressed', async () => {
    const s = await HostileSocket.connect(ts.tlsPort, { ca: ts.ca });
    s.send(header());
    await s.waitFor('</stream:features>');
    s.clear();
    s.send(`<compress xmlns='${NS_COMPRESS}'><method>zlib</method></compress>`);
    const text = await s.waitForClose();
    expect(streamErrorCondition(text)).toBe('unsupported-stanza-type');
    expect(text).not.toContain('<compressed');
  });

  test('a <compress/> request on a bound session is refused the same way', async () => {
    const s = await login(ts.tlsPort, ts.ca, 'alice', 'alice-pw', 'zip');
    s.send(`<compress xmlns='${NS_COMPRESS}'><method>zlib</method></compress>`);
    const text = await s.waitForClose();
    expect(streamErrorCondition(text)).toBe('unsupported-stanza-type');
    expect(text).not.toContain('<compressed');
  });
});

describe('resource binding abuse', () => {
  async function bind(resource: string): Promise<{ s: HostileSocket; reply: string }> {
    const s = await HostileSocket.connect(ts.tlsPort, { ca: ts.ca });
    s.send(header());
    await s.waitFor('</stream:features>');
    s.send(plain('alice', 'alice-pw'));
    await s.waitFor('<success');
    s.clear();
    s.send(header());
    await s.waitFor('</stream:features>');
    s.clear();
    s.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    return { s, reply: await s.waitFor(/<iq [^>]*id='b'/) };
  }

  for (const [what, resource] of [
    ['a C1 control character', 'a\u0085b'],
    ['a bidi override', 'a\u202Eb'],
    ['1024 bytes', 'r'.repeat(1024)],
    ['1023 bytes of three-byte characters plus one', '\u20ac'.repeat(341) + 'xx'],
  ] as const) {
    test(`a resource with ${what} is refused and the stream stays open for another try`, async () => {
      const { s, reply } = await bind(resource);
      expect(reply).toContain("type='error'");
      expect(reply).toContain('<bad-request');
      s.clear();
      s.send("<iq type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ok</resource></bind></iq>");
      expect(await s.waitFor(/id='b2'/)).toContain('alice@localhost/ok');
      s.close();
    });
  }

  test('a C0 control character (U+0007, even as a reference) is not XML: the tokenizer ends the stream', async () => {
    const s = await login(ts.tlsPort, ts.ca, 'alice', 'alice-pw', 'first');
    s.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>a&#x7;b</resource></bind></iq>");
    expect(streamErrorCondition(await s.waitForClose())).toBe('not-well-formed');
  });

  test('1023 bytes is still a valid resource', async () => {
    const { s, reply } = await bind('r'.repeat(1023));
    expect(reply).toContain("type='result'");
    s.close();
  });
});
