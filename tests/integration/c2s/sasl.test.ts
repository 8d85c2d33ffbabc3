// SASL on the c2s stream (RFC 6120 §6): PLAIN and SCRAM exchanges byte by byte, channel
// binding for the -PLUS variants, every failure condition a client can cause, the failure
// budget, and the stream 'from' checked against the authenticated identity.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, X509Certificate } from 'node:crypto';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { b64, ScramClient, unb64, type ScramHashName } from './scram-client.ts';
import {
  authPlain, authScram, bind, connectDirectTls, connectTls, expectStreamError, header, NS_SASL, openStream, plainPayload, type Wire,
} from './wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'b0b pässword' },
    toml: '[auth.password]\nscram_iterations = 4096\n',
  });
});
afterAll(async () => {
  await ts.stop();
});

const failure = (condition: string) => new RegExp(`^<failure xmlns='${NS_SASL}'><${condition}/>(<text xml:lang='en'>[^<]*</text>)?</failure>$`);

async function sendAndReadFailure(wire: Wire, xml: string): Promise<string> {
  wire.clear();
  wire.send(xml);
  await wire.waitFor('</failure>');
  return wire.text;
}

/** After SASL success the stream restarts, a resource binds: the login really worked. */
async function finishLogin(wire: Wire, expectedBare: string): Promise<void> {
  const features = await openStream(wire);
  expect(features).toContain(`<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>`);
  expect(features).not.toContain('<mechanisms');
  const jid = await bind(wire);
  expect(jid.startsWith(`${expectedBare}/`)).toBe(true);
  wire.close();
}

describe('successful exchanges', () => {
  test('PLAIN', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    await finishLogin(wire, 'alice@localhost');
  });

  test('PLAIN without initial response gets an empty challenge', async () => {
    const { wire } = await connectTls(ts);
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'/>`);
    await wire.waitFor('</challenge>');
    expect(wire.text).toBe(`<challenge xmlns='${NS_SASL}'>=</challenge>`);
    wire.clear();
    wire.send(`<response xmlns='${NS_SASL}'>${plainPayload('alice', 'alice-pw')}</response>`);
    await wire.waitFor('<success');
    await finishLogin(wire, 'alice@localhost');
  });

  test('PLAIN with the own bare JID as authzid', async () => {
    const { wire } = await connectTls(ts);
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'alice-pw', 'alice@localhost')}</auth>`);
    await wire.waitFor('<success');
    await finishLogin(wire, 'alice@localhost');
  });

  for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as ScramHashName[]) {
    test(`SCRAM-${hash}`, async () => {
      const { wire } = await connectTls(ts);
      await authScram(wire, `SCRAM-${hash}`, hash, 'bob', 'b0b pässword');
      await finishLogin(wire, 'bob@localhost');
    });
  }

  test('SCRAM-SHA-256 on the direct TLS port', async () => {
    const { wire } = await connectDirectTls(ts);
    await authScram(wire, 'SCRAM-SHA-256', 'SHA-256', 'alice', 'alice-pw');
    await finishLogin(wire, 'alice@localhost');
  });

  for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as ScramHashName[]) {
    test(`SCRAM-${hash}-PLUS with tls-exporter`, async () => {
      const { wire } = await connectTls(ts);
      const data = wire.tlsSocket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
      await authScram(wire, `SCRAM-${hash}-PLUS`, hash, 'alice', 'alice-pw', { type: 'tls-exporter', data });
      await finishLogin(wire, 'alice@localhost');
    });
  }

  test('SCRAM-SHA-256-PLUS with tls-server-end-point', async () => {
    const { wire } = await connectDirectTls(ts);
    const der = wire.tlsSocket.getPeerX509Certificate()!.raw;
    expect(new X509Certificate(der).subject).toContain('CN=localhost');
    // ECDSA with SHA-256: the end-point hash is SHA-256 of the DER (RFC 5929 §4.1).
    const data = createHash('sha256').update(der).digest();
    await authScram(wire, 'SCRAM-SHA-256-PLUS', 'SHA-256', 'alice', 'alice-pw', { type: 'tls-server-end-point', data });
    await finishLogin(wire, 'alice@localhost');
  });

  test('-PLUS with channel binding data of another connection is not-authorized', async () => {
    const { wire: other } = await connectTls(ts);
    const foreign = other.tlsSocket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
    other.close();
    const { wire } = await connectTls(ts);
    await expect(authScram(wire, 'SCRAM-SHA-256-PLUS', 'SHA-256', 'alice', 'alice-pw', { type: 'tls-exporter', data: foreign }))
      .rejects.toThrow(/not-authorized/);
    wire.close();
  });
});

describe('failures (RFC 6120 §6.5)', () => {
  test('wrong password with PLAIN is not-authorized', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'wrong')}</auth>`);
    expect(text).toMatch(failure('not-authorized'));
    wire.close();
  });

  test('unknown user with PLAIN is not-authorized', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('nobody', 'alice-pw')}</auth>`);
    expect(text).toMatch(failure('not-authorized'));
    wire.close();
  });

  test('wrong password with SCRAM is not-authorized', async () => {
    const { wire } = await connectTls(ts);
    await expect(authScram(wire, 'SCRAM-SHA-1', 'SHA-1', 'alice', 'nope')).rejects.toThrow(/<not-authorized\/>/);
    wire.close();
  });

  test('an unknown user gets the same SCRAM salt twice, and not-authorized', async () => {
    const salts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { wire } = await connectTls(ts);
      const client = new ScramClient({ hash: 'SHA-256', username: 'ghost', password: 'x' });
      wire.clear();
      wire.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${b64(client.first())}</auth>`);
      const m = await wire.take(/<challenge xmlns='[^']+'>([^<]*)<\/challenge>/);
      const serverFirst = unb64(m[1]!);
      salts.push(ScramClient.parseServerFirst(serverFirst).salt);
      wire.send(`<response xmlns='${NS_SASL}'>${b64(client.final(serverFirst))}</response>`);
      await wire.waitFor('</failure>');
      expect(wire.text).toMatch(failure('not-authorized'));
      wire.close();
    }
    expect(salts[0]).toBe(salts[1]!);
    expect(salts[0]!.length).toBeGreaterThan(0);
  });

  test('an authzid naming someone else is invalid-authzid', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'alice-pw', 'bob@localhost')}</auth>`);
    expect(text).toMatch(failure('invalid-authzid'));
    wire.close();
  });

  test('an authzid naming someone else with SCRAM is invalid-authzid', async () => {
    const { wire } = await connectTls(ts);
    const client = new ScramClient({ hash: 'SHA-1', username: 'alice', password: 'alice-pw', authzid: 'bob@localhost' });
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${b64(client.first())}</auth>`);
    const m = await wire.take(/<challenge xmlns='[^']+'>([^<]*)<\/challenge>/);
    wire.send(`<response xmlns='${NS_SASL}'>${b64(client.final(unb64(m[1]!)))}</response>`);
    await wire.waitFor('</failure>');
    expect(wire.text).toMatch(failure('invalid-authzid'));
    wire.close();
  });

  test('a mechanism not offered is invalid-mechanism', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='DIGEST-MD5'/>`);
    expect(text).toMatch(failure('invalid-mechanism'));
    wire.close();
  });

  test('a PLAIN message without the NUL separators is malformed-request', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${b64('alice alice-pw')}</auth>`);
    expect(text).toMatch(failure('malformed-request'));
    wire.close();
  });

  test('a <response/> without an exchange in progress is malformed-request', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<response xmlns='${NS_SASL}'>${b64('x')}</response>`);
    expect(text).toMatch(failure('malformed-request'));
    wire.close();
  });

  test('payload that is not base64 is incorrect-encoding', async () => {
    const { wire } = await connectTls(ts);
    const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>not*base64!</auth>`);
    expect(text).toMatch(failure('incorrect-encoding'));
    wire.close();
  });

  test('<abort/> during SCRAM is aborted, and a new attempt then succeeds', async () => {
    const { wire } = await connectTls(ts);
    const client = new ScramClient({ hash: 'SHA-256', username: 'alice', password: 'alice-pw' });
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-256'>${b64(client.first())}</auth>`);
    await wire.waitFor('</challenge>');
    const text = await sendAndReadFailure(wire, `<abort xmlns='${NS_SASL}'/>`);
    expect(text).toMatch(failure('aborted'));
    await authPlain(wire, 'alice', 'alice-pw');
    await finishLogin(wire, 'alice@localhost');
  });

  test('three failures exhaust the budget: policy-violation', async () => {
    const { wire } = await connectTls(ts);
    for (let i = 0; i < 2; i++) {
      const text = await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', `wrong${i}`)}</auth>`);
      expect(text).toMatch(failure('not-authorized'));
    }
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'wrong2')}</auth>`);
    const text = await expectStreamError(wire, 'policy-violation');
    expect(text).toContain('<not-authorized/>');
    // Another connection may still log in.
    const { wire: next } = await connectTls(ts);
    await authPlain(next, 'alice', 'alice-pw');
    next.close();
  });

  test('the budget counts mixed failures, not only wrong passwords', async () => {
    const { wire } = await connectTls(ts);
    await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='NOPE'/>`);
    await sendAndReadFailure(wire, `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>***</auth>`);
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'wrong')}</auth>`);
    await expectStreamError(wire, 'policy-violation');
  });

  test('SASL after authentication is refused', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    await openStream(wire);
    wire.clear();
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('bob', 'b0b pässword')}</auth>`);
    await expectStreamError(wire, 'policy-violation');
  });
});

describe('the restarted stream after SASL', () => {
  test('a stream from that differs from the SASL identity is invalid-from', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    wire.clear();
    wire.send(header('localhost', ` from='bob@localhost'`));
    await expectStreamError(wire, 'invalid-from', 5000, true);
  });

  test('a stream from naming the authenticated user is accepted', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    wire.clear();
    wire.send(header('localhost', ` from='alice@localhost'`));
    await wire.waitFor('</stream:features>');
    expect(wire.text).toContain('<bind');
    wire.close();
  });

  test('a stream from with another user whose name starts the same is invalid-from', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    wire.clear();
    wire.send(header('localhost', ` from='alice@localhost.evil'`));
    await expectStreamError(wire, 'invalid-from', 5000, true);
  });

  test('restarting for another domain after SASL is refused', async () => {
    const { wire } = await connectTls(ts);
    await authPlain(wire, 'alice', 'alice-pw');
    wire.clear();
    wire.send(header('example.org'));
    await expectStreamError(wire, 'host-unknown', 5000, true);
  });

  test('a stanza pipelined after the <auth/> that succeeds is never processed', async () => {
    const { wire } = await connectTls(ts);
    wire.clear();
    // Sent before <success/>: it belongs to the unauthenticated stream, which success ends.
    wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload('alice', 'alice-pw')}</auth>` +
      `<iq type='set' id='pb'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>piped</resource></bind></iq>`);
    await wire.waitFor('<success');
    await new Promise((r) => setTimeout(r, 50));
    expect(wire.text).not.toContain("id='pb'");
    expect(ts.server.core.sessions.size).toBe(0);
    // The restarted stream works as usual.
    await openStream(wire);
    expect(await bind(wire, 'proper')).toBe('alice@localhost/proper');
    wire.close();
  });
});
