// SASL EXTERNAL (XEP-0178) over WebSocket on HTTPS (RFC 7395 over TLS with a client
// certificate): offered when the connection's certificate passed verification, with the
// same identity rules as TCP. A raw WebSocket over tls.connect presents the certificate.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createCertKit } from '../external/certs.ts';
import { startHttpsServer, type HttpsServer } from './server.ts';
import { mechanismsOf, NS_SASL, TlsWebSocket, type TlsClientOptions } from './wire.ts';

const kit = createCertKit();
const certs = {
  alice: kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] }),
  otherDomain: kit.client('other-domain', { cn: 'alice', xmppAddrs: ['alice@elsewhere.example'] }),
  otherCa: kit.client('other-ca', { cn: 'alice', xmppAddrs: ['alice@localhost'], issuer: kit.otherCa }),
};
const as = (client?: (typeof certs)[keyof typeof certs]): TlsClientOptions => ({ ca: kit.ca.cert, client });
const OPEN = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>`;

let server: HttpsServer;
beforeAll(async () => {
  server = await startHttpsServer(kit, 'peer', ['alice']);
});
afterAll(async () => {
  await server?.stop();
  kit.remove();
});

async function openWith(client: TlsClientOptions): Promise<{ ws: TlsWebSocket; features: string }> {
  const ws = await TlsWebSocket.connect(server.port, '/ws-xmpp', client);
  ws.send(OPEN);
  await ws.next(/^<open /);
  return { ws, features: await ws.next(/<stream:features/) };
}

describe('WebSocket over HTTPS with a client certificate', () => {
  test('alice is offered EXTERNAL, logs in, restarts the stream and binds alice@localhost', async () => {
    const { ws, features } = await openWith(as(certs.alice));
    expect(mechanismsOf(features)).toContain('EXTERNAL');
    ws.send(`<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>=</auth>`);
    expect(await ws.next()).toBe(`<success xmlns='${NS_SASL}'/>`);
    ws.send(OPEN);
    await ws.next(/^<open /);
    expect(await ws.next(/<stream:features/)).toContain("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'");
    ws.send(`<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource></bind></iq>`);
    expect(await ws.next(/id='b1'/)).toContain('<jid>alice@localhost/ws</jid>');
    ws.close();
  });

  test('a certificate for another domain is refused with not-authorized; the stream stays open', async () => {
    const { ws, features } = await openWith(as(certs.otherDomain));
    expect(mechanismsOf(features)).toContain('EXTERNAL');
    ws.send(`<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>=</auth>`);
    expect(await ws.next()).toBe(`<failure xmlns='${NS_SASL}'><not-authorized/><text xml:lang='en'>the certificate names no address of this domain</text></failure>`);
    ws.close();
  });

  test('without a certificate, or with one from an untrusted CA, EXTERNAL is not offered', async () => {
    for (const client of [as(), as(certs.otherCa)]) {
      const { ws, features } = await openWith(client);
      expect(mechanismsOf(features)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
      ws.close();
    }
  });
});

test("Bun's own WebSocket client with a client certificate (wss://, tls options) logs in with EXTERNAL", async () => {
  const ws = new WebSocket(`wss://localhost:${server.port}/ws-xmpp`, {
    protocols: ['xmpp'],
    tls: { ca: kit.ca.cert, cert: certs.alice.cert, key: certs.alice.key },
  } as unknown as string[]);
  const frames: string[] = [];
  let closed = false;
  ws.onmessage = (m) => frames.push(String(m.data));
  ws.onclose = () => { closed = true; };
  const next = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      const i = frames.findIndex((f) => pattern.test(f));
      if (i >= 0) return frames.splice(0, i + 1).pop()!;
      if (closed) throw new Error(`closed while waiting for ${pattern}`);
      await Bun.sleep(5);
    }
  };
  await new Promise<void>((resolve, reject) => { ws.onopen = () => resolve(); ws.onerror = () => reject(new Error('WebSocket failed')); });
  expect(ws.protocol).toBe('xmpp');
  ws.send(OPEN);
  expect(mechanismsOf(await next(/<stream:features/))).toContain('EXTERNAL');
  ws.send(`<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>=</auth>`);
  expect(await next(/success|failure/)).toBe(`<success xmlns='${NS_SASL}'/>`);
  ws.send(OPEN);
  await next(/<stream:features/);
  ws.send(`<iq xmlns='jabber:client' type='set' id='b2'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`);
  expect(await next(/id='b2'/)).toMatch(/<jid>alice@localhost\/[^<]+<\/jid>/);
  ws.send(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`);
  expect(await next(/<close /)).toBe(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`);
  ws.close();
});
