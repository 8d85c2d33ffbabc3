// WebSocket (RFC 7395): handshake refusals through app.request(), then real frames over
// a loopback socket served by the runtime's serveHttp.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { getRuntime } from '../../../server/runtime/index.ts';
import type { HttpServer } from '../../../server/runtime/types.ts';
import { fakeServer, HOST, type FakeServer } from './fake-server.ts';

const upgradeHeaders = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
};

describe('handshake refusals', () => {
  test('without the xmpp subprotocol: 400', async () => {
    const server = fakeServer();
    const res = await server.http.app.request('/ws-xmpp', { headers: { ...upgradeHeaders, 'Sec-WebSocket-Protocol': 'chat' } });
    expect(res.status).toBe(400);
    const none = await server.http.app.request('/ws-xmpp', { headers: upgradeHeaders });
    expect(none.status).toBe(400);
  });

  test('from an origin not allowed: 403', async () => {
    const server = fakeServer({ websocket: { origins: ['https://app.test'] } });
    const res = await server.http.app.request('/xmpp-websocket', {
      headers: { ...upgradeHeaders, 'Sec-WebSocket-Protocol': 'xmpp', Origin: 'https://evil.test' },
    });
    expect(res.status).toBe(403);
  });

  test('a plain GET is told to upgrade', async () => {
    const server = fakeServer();
    const res = await server.http.app.request('/ws-xmpp');
    expect(res.status).toBe(426);
  });
});

describe('XEP-0156 discovery', () => {
  test('host-meta and host-meta.json list both endpoints', async () => {
    const server = fakeServer();
    const xml = await server.http.app.request('http://chat.example.test:5280/.well-known/host-meta');
    expect(xml.headers.get('access-control-allow-origin')).toBe('*');
    expect(await xml.text()).toBe(`<?xml version='1.0' encoding='utf-8'?>
<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>
  <Link rel='urn:xmpp:alt-connections:xbosh' href='http://chat.example.test:5280/http-bind'/>
  <Link rel='urn:xmpp:alt-connections:websocket' href='ws://chat.example.test:5280/ws-xmpp'/>
</XRD>
`);
    const json = await server.http.app.request('http://chat.example.test:5280/.well-known/host-meta.json');
    expect(await json.json()).toEqual({
      links: [
        { rel: 'urn:xmpp:alt-connections:xbosh', href: 'http://chat.example.test:5280/http-bind' },
        { rel: 'urn:xmpp:alt-connections:websocket', href: 'ws://chat.example.test:5280/ws-xmpp' },
      ],
    });
  });
});

describe('frames over a real socket', () => {
  let server: FakeServer;
  let http: HttpServer;
  let url: string;

  beforeAll(async () => {
    server = fakeServer();
    const runtime = await getRuntime();
    http = await runtime.serveHttp(
      { hostname: '127.0.0.1', port: 0, websocket: { idleTimeoutMs: 60_000, maxPayloadBytes: 70_000 } },
      (req, info) => server.http.app.fetch(req, info),
    );
    url = `ws://127.0.0.1:${http.port}/ws-xmpp`;
  });
  afterAll(async () => {
    await http.stop();
  });

  /** A client that collects frames and waits for one matching a pattern. */
  async function connect(): Promise<{ ws: WebSocket; next(match: RegExp): Promise<string>; closed: Promise<void> }> {
    const ws = new WebSocket(url, ['xmpp']);
    const frames: string[] = [];
    const waiters: Array<() => void> = [];
    ws.onmessage = (e) => {
      frames.push(String(e.data));
      for (const w of waiters.splice(0)) w();
    };
    const closed = new Promise<void>((resolve) => (ws.onclose = () => resolve()));
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('connect failed'));
    });
    expect(ws.protocol).toBe('xmpp');
    let seen = 0;
    return {
      ws,
      closed,
      async next(match: RegExp): Promise<string> {
        for (;;) {
          while (seen < frames.length) {
            const f = frames[seen++]!;
            if (match.test(f)) return f;
          }
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      },
    };
  }

  const open = `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='${HOST}' version='1.0'/>`;

  async function login(user: string, resource: string) {
    const c = await connect();
    c.ws.send(open);
    expect(await c.next(/^<open /)).toMatch(new RegExp(`^<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='[^']+' from='${HOST}' version='1.0' xml:lang='en'/>$`));
    expect(await c.next(/features/)).toContain(`<stream:features xmlns:stream='http://etherx.jabber.org/streams'>`);
    c.ws.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${btoa(`\0${user}\0secret`)}</auth>`);
    await c.next(/<success/);
    c.ws.send(open);
    await c.next(/<bind xmlns/);
    c.ws.send(`<iq xmlns='jabber:client' type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    expect(await c.next(/<jid>/)).toBe(`<iq xmlns='jabber:client' type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>${user}@${HOST}/${resource}</jid></bind></iq>`);
    return c;
  }

  test('two users log in, exchange a message, ping the server and close', async () => {
    const alice = await login('alice', 'ws');
    const bob = await login('bob', 'ws');
    alice.ws.send(`<message xmlns='jabber:client' to='bob@${HOST}/ws' type='chat' id='w1'><body>hello over ws</body></message>`);
    expect(await bob.next(/id='w1'/)).toBe(`<message xmlns='jabber:client' to='bob@${HOST}/ws' type='chat' id='w1' from='alice@${HOST}/ws'><body>hello over ws</body></message>`);
    bob.ws.send(`<iq xmlns='jabber:client' type='get' id='p1' to='${HOST}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    expect(await bob.next(/id='p1'/)).toContain(`type='result'`);
    alice.ws.send(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`);
    expect(await alice.next(/<close/)).toBe(`<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`);
    await alice.closed;
    bob.ws.close();
    await bob.closed;
  });

  test('two elements in one frame is not-well-formed', async () => {
    const c = await connect();
    c.ws.send(open + open);
    await c.next(/features/);
    expect(await c.next(/stream:error/)).toContain('<not-well-formed ');
    await c.next(/<close/);
    await c.closed;
  });

  test('a binary frame ends the stream', async () => {
    const c = await connect();
    c.ws.send(open);
    await c.next(/features/);
    c.ws.send(new TextEncoder().encode(`<presence xmlns='jabber:client'/>`));
    expect(await c.next(/stream:error/)).toContain('<unsupported-encoding ');
    await c.closed;
  });

  test('an entity declaration is restricted-xml', async () => {
    const c = await connect();
    c.ws.send(`<!DOCTYPE open [<!ENTITY x 'y'>]>${open}`);
    expect(await c.next(/stream:error/)).toContain('<restricted-xml ');
    await c.closed;
  });
});
