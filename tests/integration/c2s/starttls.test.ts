// STARTTLS (RFC 6120 §5) on the c2s port: required by default, plaintext SASL refused,
// bytes pipelined after <starttls/> thrown away, a fresh stream after the handshake; the
// pre-authentication timeout; XEP-0478 limits.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { expectStreamError, header, NS_SASL, NS_TLS, openStream, plainPayload, Wire, connectTls, authPlain, bind } from './wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'secret-a' } });
});
afterAll(async () => {
  await ts.stop();
});

describe('before TLS', () => {
  test('features require STARTTLS and offer no SASL mechanism', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    const features = await openStream(wire);
    expect(features).toContain(`<starttls xmlns='${NS_TLS}'><required/></starttls>`);
    expect(features).not.toContain('<mechanisms');
    wire.close();
  });

  test('<auth/> before TLS fails with encryption-required and the stream stays open', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'secret-a')}</auth>`);
    await wire.waitFor('</failure>');
    expect(wire.text).toBe(`<failure xmlns='${NS_SASL}'><encryption-required/><text xml:lang='en'>use STARTTLS first</text></failure>`);
    // Still usable: STARTTLS goes ahead.
    wire.clear();
    wire.send(`<starttls xmlns='${NS_TLS}'/>`);
    await wire.waitFor(`<proceed xmlns='${NS_TLS}'/>`);
    wire.close();
  });
});

describe('the STARTTLS handshake', () => {
  test('after TLS the stream restarts: new header, SASL offered, STARTTLS no longer offered', async () => {
    const { wire, features } = await connectTls(ts);
    expect(features).toContain('<stream:stream');
    expect(features).not.toContain('<starttls');
    expect(features).toContain('<mechanism>SCRAM-SHA-256</mechanism>');
    expect(features).toContain('<mechanism>PLAIN</mechanism>');
    expect(features).toContain('<mechanism>SCRAM-SHA-256-PLUS</mechanism>');
    wire.close();
  });

  test('an <auth/> pipelined after <starttls/> in the same write is discarded, never processed', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    wire.clear();
    // Were the <auth/> processed, it would either fail (encryption-required) or, worse,
    // succeed inside the encrypted stream as if the client had sent it there.
    wire.send(`<starttls xmlns='${NS_TLS}'/><auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'secret-a')}</auth>`);
    await wire.waitFor(`<proceed xmlns='${NS_TLS}'/>`);
    await new Promise((r) => setTimeout(r, 50));
    expect(wire.text).toBe(`<proceed xmlns='${NS_TLS}'/>`);
    await wire.startTls(ts.ca);
    // Say nothing on the new stream but its header: no <success/> may show up.
    wire.send(header());
    await wire.waitFor('</stream:features>');
    await new Promise((r) => setTimeout(r, 100));
    expect(wire.text).not.toContain('<success');
    expect(wire.text).not.toContain('<failure');
    expect(wire.text).toContain('<mechanisms');
    // Not authenticated: a stanza is refused.
    wire.send(`<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
    await expectStreamError(wire, 'not-authorized');
  });

  test('a stream header pipelined after <starttls/> is discarded too', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    wire.clear();
    wire.send(`<starttls xmlns='${NS_TLS}'/>` + header());
    await wire.waitFor(`<proceed xmlns='${NS_TLS}'/>`);
    await wire.startTls(ts.ca);
    // The encrypted stream starts from nothing: a header now is the first, not the second.
    const features = await openStream(wire);
    expect(features.match(/<stream:stream /g)?.length).toBe(1);
    expect(features).toContain('<mechanisms');
    wire.close();
  });

  test('the tokenizer is fresh after TLS: the plaintext header prefix does not matter', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    // A header with a custom prefix, only valid for the plaintext stream.
    wire.send(`<?xml version='1.0'?><x:stream xmlns='jabber:client' xmlns:x='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`);
    await wire.waitFor('</stream:features>');
    wire.send(`<x:starttls xmlns:x='${NS_TLS}'/>`);
    await wire.waitFor('<proceed');
    await wire.startTls(ts.ca);
    const features = await openStream(wire);
    expect(features).toContain('<mechanisms');
    await authPlain(wire, 'alice', 'secret-a');
    await openStream(wire);
    expect(await bind(wire, 'fresh')).toBe('alice@localhost/fresh');
    wire.close();
  });

  test('STARTTLS a second time is refused with <failure/> and the stream closed', async () => {
    const { wire } = await connectTls(ts);
    wire.clear();
    wire.send(`<starttls xmlns='${NS_TLS}'/>`);
    const text = await wire.waitForClose();
    expect(text).toContain(`<failure xmlns='${NS_TLS}'/>`);
    expect(text.trimEnd().endsWith('</stream:stream>')).toBe(true);
  });

  test('the direct TLS port offers SASL at once, no STARTTLS', async () => {
    const wire = await Wire.connect(ts.tlsPort, { ca: ts.ca });
    const features = await openStream(wire);
    expect(features).not.toContain('<starttls');
    expect(features).toContain('<mechanism>PLAIN</mechanism>');
    wire.close();
  });
});

describe('limits', () => {
  test('XEP-0478 limits are advertised before and after authentication', async () => {
    const { wire, features } = await connectTls(ts);
    expect(features).toContain(`<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>16384</max-bytes><idle-seconds>30</idle-seconds></limits>`);
    await authPlain(wire, 'alice', 'secret-a');
    const after = await openStream(wire);
    expect(after).toContain(`<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>65536</max-bytes></limits>`);
    wire.close();
  });
});

describe('pre-authentication timeout', () => {
  test('a connection that never authenticates is closed with connection-timeout', async () => {
    const quick = await startTestServer({ preauthTimeoutMs: 300 });
    try {
      const wire = await Wire.connect(quick.c2sPort);
      await openStream(wire);
      await expectStreamError(wire, 'connection-timeout', 3000);
      // A silent connection gets a header before the error too.
      const silent = await Wire.connect(quick.c2sPort);
      const text = await expectStreamError(silent, 'connection-timeout', 3000);
      expect(text.startsWith('<?xml')).toBe(true);
    } finally {
      await quick.stop();
    }
  });

  test('a bound session is not timed out', async () => {
    const quick = await startTestServer({ preauthTimeoutMs: 400, users: { 'bob@localhost': 'pw-b' } });
    try {
      const { wire } = await connectTls(quick);
      await authPlain(wire, 'bob', 'pw-b');
      await openStream(wire);
      await bind(wire);
      await new Promise((r) => setTimeout(r, 700));
      expect(wire.closed).toBe(false);
      wire.send(`<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>`);
      await wire.waitFor(/<iq [^>]*id='p1'/);
      wire.close();
    } finally {
      await quick.stop();
    }
  });
});

describe('errors on the encrypted stream', () => {
  test('an invalid header after TLS gets a new header of ours, then the error', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    wire.send(`<starttls xmlns='${NS_TLS}'/>`);
    await wire.waitFor('<proceed');
    await wire.startTls(ts.ca);
    wire.send(header('example.org'));
    await expectStreamError(wire, 'host-unknown', 5000, true);
  });
});
