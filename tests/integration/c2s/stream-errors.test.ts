// Every stream-level error a client can provoke on the c2s port (RFC 6120 §4.9.3): the
// exact condition, the error after a stream header of ours, then </stream:stream> and the
// close — and the next connection is served normally.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { expectStreamError, header, login, openStream, Wire } from './wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' } });
});
afterAll(async () => {
  await ts.stop();
});

const STREAM_NS = 'http://etherx.jabber.org/streams';

/** A fresh connection still gets a header and STARTTLS features. */
async function nextConnectionWorks(): Promise<void> {
  const wire = await Wire.connect(ts.c2sPort);
  const features = await openStream(wire);
  expect(features).toContain('<starttls');
  wire.close();
}

async function provoke(bytes: string[], condition: string): Promise<string> {
  const wire = await Wire.connect(ts.c2sPort);
  for (const b of bytes) wire.send(b);
  const text = await expectStreamError(wire, condition, 5000, true);
  await nextConnectionWorks();
  return text;
}

describe('stream header', () => {
  test('a root in another namespace than the streams one is invalid-namespace', async () => {
    await provoke([`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='urn:example:not-streams' to='localhost' version='1.0'>`], 'invalid-namespace');
  });

  test('a default namespace other than jabber:client is invalid-namespace', async () => {
    await provoke([`<stream:stream xmlns='jabber:server' xmlns:stream='${STREAM_NS}' to='localhost' version='1.0'>`], 'invalid-namespace');
  });

  test('a domain this server does not serve is host-unknown', async () => {
    await provoke([header('example.org')], 'host-unknown');
  });

  test('a header without version is unsupported-version', async () => {
    await provoke([`<stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' to='localhost'>`], 'unsupported-version');
  });

  test('version 2.0 is unsupported-version', async () => {
    await provoke([`<stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' to='localhost' version='2.0'>`], 'unsupported-version');
  });

  // RFC 6120 §4.7.4 names no condition for a malformed xml:lang; we close with invalid-xml.
  test('an xml:lang that is not a language tag is invalid-xml', async () => {
    await provoke([header('localhost', ` xml:lang='not a tag!'`)], 'invalid-xml');
  });

  test('the error follows a header that names the requested host when it is served', async () => {
    const text = await provoke([`<stream:stream xmlns='jabber:client' xmlns:stream='${STREAM_NS}' to='localhost' version='3.0'>`], 'unsupported-version');
    expect(text).toMatch(/<stream:stream [^>]*from='localhost'/);
  });

  test('a second stream header without a restart is policy-violation', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    wire.send(header().slice("<?xml version='1.0'?>".length));
    await expectStreamError(wire, 'policy-violation', 2000);
    await nextConnectionWorks();
  });
});

describe('a second stream header', () => {
  const again = header().slice("<?xml version='1.0'?>".length);

  test('sent one byte at a time is still policy-violation', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    await openStream(wire);
    for (const ch of again) {
      wire.send(ch);
      await new Promise((r) => setTimeout(r, 1));
    }
    await expectStreamError(wire, 'policy-violation', 2000);
  });

  test('after stanzas on a bound session is policy-violation', async () => {
    const { wire } = await login(ts, 'alice', 'alice-pw', 'again');
    wire.send(`<presence/>  \n<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>  ` + again);
    await expectStreamError(wire, 'policy-violation', 2000);
  });

  test('a header inside CDATA or as text of a stanza is just content', async () => {
    const bob = await login(ts, 'bob', 'bob-pw', 'reader');
    const { wire } = await login(ts, 'alice', 'alice-pw', 'writer');
    // Split so that a chunk starts with the header's bytes inside the CDATA section.
    wire.send(`<message to='bob@localhost/reader' id='c1'><body><![CDATA[`);
    await new Promise((r) => setTimeout(r, 20));
    wire.send(`${again}]]></body></message>`);
    await bob.wire.waitFor('</message>');
    expect(bob.wire.text).toContain(`<![CDATA[${again}]]>`);
    expect(wire.closed).toBe(false);
    wire.close();
    bob.wire.close();
  });
});

describe('before authentication', () => {
  test('a message is not-authorized', async () => {
    await provoke([header(), `<message to='bob@localhost'><body>hi</body></message>`], 'not-authorized');
  });

  test('an iq is not-authorized', async () => {
    await provoke([header(), `<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`], 'not-authorized');
  });

  test('a presence is not-authorized', async () => {
    await provoke([header(), `<presence/>`], 'not-authorized');
  });

  test('a stanza larger than the pre-auth limit is policy-violation', async () => {
    await provoke([header(), `<message to='bob@localhost'><body>${'x'.repeat(20_000)}</body></message>`], 'policy-violation');
  });

  test('a start tag larger than the pre-auth limit is policy-violation', async () => {
    await provoke([header(), `<message to='bob@localhost' a='${'y'.repeat(5000)}'>`], 'policy-violation');
  });
});

describe('not XML, or not XMPP', () => {
  test('garbage gets a header, then not-well-formed', async () => {
    const text = await provoke(['hello, is this a mail server?\r\n'], 'not-well-formed');
    expect(text.startsWith('<?xml')).toBe(true);
  });

  test('an HTTP request gets a header, then not-well-formed', async () => {
    const text = await provoke(['GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'], 'not-well-formed');
    expect(text).toContain('<stream:stream');
  });

  test('a stray end tag after the header is not-well-formed', async () => {
    await provoke([header(), '</message>'], 'not-well-formed');
  });

  test('an unknown top-level element is unsupported-stanza-type', async () => {
    await provoke([header(), `<frobnicate xmlns='urn:example:x'/>`], 'unsupported-stanza-type');
  });

  test('a jabber:client element that is not a stanza is unsupported-stanza-type', async () => {
    await provoke([header(), `<note>hello</note>`], 'unsupported-stanza-type');
  });
});

describe('restricted XML (RFC 6120 §11.1)', () => {
  test('a comment is restricted-xml', async () => {
    await provoke([header(), '<!-- hello -->'], 'restricted-xml');
  });

  test('a comment inside a stanza is restricted-xml', async () => {
    await provoke([header(), '<message><!-- hello --></message>'], 'restricted-xml');
  });

  test('a processing instruction is restricted-xml', async () => {
    await provoke([header(), `<?evil data?>`], 'restricted-xml');
  });

  test('a DTD before the header is restricted-xml', async () => {
    await provoke([`<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY a 'aaaa'>]>` + header().slice(21)], 'restricted-xml');
  });

  test('an entity other than the five is refused', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    wire.send(header() + '<message>&lol;</message>');
    const text = await wire.waitForClose();
    expect(text).toMatch(/<(restricted-xml|not-well-formed) xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/);
    expect(text.trimEnd().endsWith('</stream:stream>')).toBe(true);
  });
});

describe('limits and timeouts', () => {
  test('features advertise XEP-0478 limits', async () => {
    const wire = await Wire.connect(ts.c2sPort);
    const features = await openStream(wire);
    expect(features).toContain(`<limits xmlns='urn:xmpp:stream-limits:0'><max-bytes>16384</max-bytes><idle-seconds>30</idle-seconds></limits>`);
    wire.close();
  });
});
