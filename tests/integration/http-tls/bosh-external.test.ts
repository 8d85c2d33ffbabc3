// SASL EXTERNAL (XEP-0178) over BOSH on HTTPS: a listener with verify_mode asks each TLS
// connection for a client certificate; EXTERNAL is offered exactly when a verified one came
// with the request that created the session, and every later request of that session must
// bring the same certificate. Raw node:https requests, each on a fresh TLS connection.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createCertKit } from '../external/certs.ts';
import { startHttpsServer, type HttpsServer } from './server.ts';
import { attr, BoshSessionClient, mechanismsOf, NS_SASL, postBosh, type TlsClientOptions } from './wire.ts';
import { parseConfig } from '../../../server/config/load.ts';
import { startServer } from '../../../server/server.ts';
import { Logger } from '../../../server/log.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const kit = createCertKit();
const certs = {
  alice: kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] }),
  bob: kit.client('bob', { cn: 'bob', xmppAddrs: ['bob@localhost'] }),
  otherDomain: kit.client('other-domain', { cn: 'alice', xmppAddrs: ['alice@elsewhere.example'] }),
  otherCa: kit.client('other-ca', { cn: 'alice', xmppAddrs: ['alice@localhost'], issuer: kit.otherCa }),
};
const as = (client?: (typeof certs)[keyof typeof certs]): TlsClientOptions => ({ ca: kit.ca.cert, client });
const EXTERNAL_AUTH = `<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>=</auth>`;

let peer: HttpsServer;
let none: HttpsServer;
beforeAll(async () => {
  [peer, none] = await Promise.all([startHttpsServer(kit, 'peer', ['alice', 'bob']), startHttpsServer(kit, 'none', ['alice'])]);
});
afterAll(async () => {
  await Promise.all([peer?.stop(), none?.stop()]);
  kit.remove();
});

/** Polls the session until a response matches (BOSH may deliver an answer in a later response). */
async function until(client: BoshSessionClient, first: string, pattern: RegExp): Promise<string> {
  let reply = first;
  for (let i = 0; i < 5 && !pattern.test(reply); i++) reply = await client.request('');
  return reply;
}

describe('a client certificate from the configured CA', () => {
  // Every request goes on a TLS connection of its own, with the same certificate: the
  // session carries on across them.
  test('alice creates a BOSH session, EXTERNAL is offered, she logs in with "=" and binds alice@localhost', async () => {
    const alice = new BoshSessionClient(peer.port, as(certs.alice));
    const created = await alice.create();
    expect(attr(created, 'secure')).toBe('true');
    expect(mechanismsOf(created)).toContain('EXTERNAL');
    expect(await alice.request(EXTERNAL_AUTH)).toContain(`<success xmlns='${NS_SASL}'/>`);
    expect(await alice.restart()).toContain("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'");
    const bound = await until(alice, await alice.request(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>`), /<jid>/);
    expect(bound).toContain('<jid>alice@localhost/web</jid>');
    await alice.request('', ` type='terminate'`);
  });

  test('a certificate naming only another domain is offered EXTERNAL and refused with not-authorized', async () => {
    const client = new BoshSessionClient(peer.port, as(certs.otherDomain));
    expect(mechanismsOf(await client.create())).toContain('EXTERNAL');
    const answer = await client.request(EXTERNAL_AUTH);
    expect(answer).toContain(`<failure xmlns='${NS_SASL}'><not-authorized/>`);
  });
});

describe('no EXTERNAL without a verified certificate', () => {
  test('no certificate: password mechanisms only', async () => {
    const client = new BoshSessionClient(peer.port, as());
    const created = await client.create();
    expect(mechanismsOf(created)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
    expect(await client.request(EXTERNAL_AUTH)).toContain(`<failure xmlns='${NS_SASL}'><invalid-mechanism/>`);
  });

  test('a certificate from a CA the listener does not trust: TLS still works, EXTERNAL is not offered', async () => {
    const client = new BoshSessionClient(peer.port, as(certs.otherCa));
    const created = await client.create();
    expect(attr(created, 'sid')).toBeDefined();
    expect(mechanismsOf(created)).not.toContain('EXTERNAL');
  });

  test('on a listener with verify_mode = "none" a valid certificate does not bring EXTERNAL', async () => {
    const client = new BoshSessionClient(none.port, as(certs.alice));
    const created = await client.create();
    expect(attr(created, 'secure')).toBe('true');
    expect(mechanismsOf(created)).not.toContain('EXTERNAL');
  });
});

describe('a BOSH session is bound to the certificate it was created with', () => {
  test('a later request with another user\'s certificate ends the session with policy-violation', async () => {
    const alice = new BoshSessionClient(peer.port, as(certs.alice));
    await alice.create();
    const hijack = await alice.request(EXTERNAL_AUTH, '', as(certs.bob));
    expect(attr(hijack, 'type')).toBe('terminate');
    expect(attr(hijack, 'condition')).toBe('policy-violation');
    // The session is gone for alice too.
    expect(attr(await alice.request(''), 'type')).toBe('terminate');
  });

  test('a later request without a certificate ends the session with policy-violation', async () => {
    const alice = new BoshSessionClient(peer.port, as(certs.alice));
    await alice.create();
    const reply = await alice.request('', '', as());
    expect(attr(reply, 'type')).toBe('terminate');
    expect(attr(reply, 'condition')).toBe('policy-violation');
  });

  test('a session created without a certificate cannot pick one up later', async () => {
    const anon = new BoshSessionClient(peer.port, as());
    await anon.create();
    const reply = await anon.request(EXTERNAL_AUTH, '', as(certs.alice));
    expect(attr(reply, 'condition')).toBe('policy-violation');
    expect(reply).not.toContain('<success');
  });
});

test('verify_mode on a plain-HTTP listener is refused at start-up', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-http-tls-plain-'));
  const config = parseConfig(`
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "none"
[[listen.http]]
port = 1
ip_address = "127.0.0.1"
tls = false
cafile = ${JSON.stringify(kit.ca.certfile)}
verify_mode = "peer"
`, 'plain.toml', {});
  try {
    await expect(startServer(config, { logger: new Logger() })).rejects.toThrow('needs tls = true');
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a BOSH request over HTTPS without a client certificate to a plain https endpoint still works', async () => {
  const body = await postBosh(none.port, `<body xmlns='http://jabber.org/protocol/httpbind' rid='1' to='localhost' wait='1' hold='1' ver='1.11' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>`, as());
  expect(attr(body, 'sid')).toBeDefined();
});
