// External components (XEP-0114) over WebSocket: a component opens the server's WebSocket
// endpoint (subprotocol xmpp) and its first frame opens <stream:stream
// xmlns='jabber:component:accept'>; the handshake and routing are those of the TCP
// component port. Clients keep using RFC 7395 <open/> on the same endpoint. The component
// is Bun's own WebSocket client, sending exact bytes.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { RawClient } from '../../helpers/raw-client.ts';
import { freePort } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { componentHeader, digest, loginUser, NS_STREAMS, waitForElement } from '../component/wire.ts';

const SECRET = 'ws-component-secret';

/** A component's side of the WebSocket: frames in order, close observed. */
class WsComponent {
  readonly frames: string[] = [];
  closed = false;
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (m) => this.frames.push(String(m.data));
    ws.onclose = () => { this.closed = true; };
  }

  static async open(port: number, path = '/ws-xmpp'): Promise<WsComponent> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['xmpp']);
    const c = new WsComponent(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error('WebSocket failed'));
    });
    return c;
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** The first frame matching `pattern`; earlier frames are consumed. */
  async next(pattern: RegExp): Promise<string> {
    for (;;) {
      const i = this.frames.findIndex((f) => pattern.test(f));
      if (i >= 0) return this.frames.splice(0, i + 1).pop()!;
      if (this.closed) throw new Error(`closed while waiting for ${pattern}; frames: ${this.frames.join(' | ')}`);
      await Bun.sleep(5);
    }
  }

  async waitClosed(): Promise<string[]> {
    while (!this.closed) await Bun.sleep(5);
    return this.frames;
  }

  /** Opens the component stream; returns the stream id of our header. */
  async openStream(to: string): Promise<string> {
    this.send(componentHeader(to));
    const header = await this.next(/<stream:stream /);
    return /\bid='([^']*)'/.exec(header)![1]!;
  }

  static async connect(port: number, to: string, secret = SECRET): Promise<WsComponent> {
    const c = await WsComponent.open(port);
    const id = await c.openStream(to);
    c.send(`<handshake>${digest(id, secret)}</handshake>`);
    await c.next(/^<handshake\/>$/);
    return c;
  }
}

let ts: TestServer;
let httpPort: number;
let hiddenPort: number;
let alice: RawClient;

beforeAll(async () => {
  [httpPort, hiddenPort] = [await freePort(), await freePort()];
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-pw' },
    toml: `
[modules.mod_disco]
users_can_see_hidden_services = false

[[listen.http]]
port = ${httpPort}
ip_address = "127.0.0.1"
[listen.http.handlers.bosh]
[listen.http.handlers.websocket]
[listen.http.handlers.websocket.component]
password = "${SECRET}"

[[listen.http]]
port = ${hiddenPort}
ip_address = "127.0.0.1"
[listen.http.handlers.websocket]
[listen.http.handlers.websocket.component]
password = "${SECRET}"
hidden_components = true
`,
  });
  alice = await loginUser(ts, 'alice', 'alice-pw', 'phone');
});
afterAll(async () => {
  alice?.close();
  await ts?.stop();
});

describe('handshake', () => {
  test('the server answers the header in jabber:component:accept without version, then <handshake/> for the right digest', async () => {
    const c = await WsComponent.open(httpPort);
    c.send(componentHeader('bridge.localhost'));
    const header = await c.next(/<stream:stream /);
    expect(header).toMatch(/^<\?xml version='1.0'\?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http:\/\/etherx.jabber.org\/streams' id='[^']+' from='bridge.localhost' xml:lang='en'>$/);
    const id = /\bid='([^']*)'/.exec(header)![1]!;
    c.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    expect(await c.next(/handshake/)).toBe('<handshake/>');
    const listed = ts.server.components.listComponents().find((x) => x.domains.includes('bridge.localhost'));
    expect(listed?.transport).toBe('websocket');
    expect(listed?.hidden).toBe(false);
    c.ws.close();
    while (ts.server.components.has('bridge.localhost')) await Bun.sleep(5);
  });

  test('a wrong secret is not-authorized: stream error, </stream:stream>, close', async () => {
    const c = await WsComponent.open(httpPort);
    const id = await c.openStream('wrong.localhost');
    c.send(`<handshake>${digest(id, 'not-the-secret')}</handshake>`);
    const frames = await c.waitClosed();
    expect(frames).toEqual([
      `<stream:error><not-authorized xmlns='${NS_STREAMS}'/><text xmlns='${NS_STREAMS}' xml:lang='en'>the handshake does not match the shared secret</text></stream:error>`,
      '</stream:stream>',
    ]);
    expect(ts.server.components.has('wrong.localhost')).toBe(false);
  });

  test('a stream header in jabber:client is invalid-namespace', async () => {
    const c = await WsComponent.open(httpPort);
    c.send(componentHeader('x.localhost', '', 'jabber:client'));
    const frames = await c.waitClosed();
    expect(frames.join('')).toContain(`<invalid-namespace xmlns='${NS_STREAMS}'/>`);
  });

  test('the stream may be split anywhere across frames, and a frame may carry several elements', async () => {
    const c = await WsComponent.open(httpPort);
    const header = componentHeader('split.localhost');
    c.send(header.slice(0, 20));
    c.send(header.slice(20));
    const id = /\bid='([^']*)'/.exec(await c.next(/<stream:stream /))![1]!;
    const hs = `<handshake>${digest(id, SECRET)}</handshake>`;
    c.send(hs.slice(0, 15));
    c.send(hs.slice(15) + `<presence from='split.localhost' to='alice@localhost' type='probe'/>`);
    expect(await c.next(/handshake/)).toBe('<handshake/>');
    c.ws.close();
  });
});

describe('routing', () => {
  test('alice messages the component\'s domain; it answers; both in their own namespaces', async () => {
    const c = await WsComponent.connect(httpPort, 'echo.localhost');
    alice.clear();
    alice.send(`<message type='chat' to='bot@echo.localhost' id='m1'><body>hi &amp; hello</body></message>`);
    const got = await c.next(/<message /);
    expect(got).toContain(`from='alice@localhost/phone'`);
    expect(got).toContain(`to='bot@echo.localhost'`);
    expect(got).toContain(`xmlns='jabber:component:accept'`);
    expect(got).toContain('<body>hi &amp; hello</body>');

    c.send(`<message type='chat' from='bot@echo.localhost' to='alice@localhost/phone' id='m2'><body>echo: hi</body></message>`);
    const back = await waitForElement(alice, /<message [^>]*id='m2'/);
    expect(back).toContain(`from='bot@echo.localhost'`);
    expect(back).toContain('<body>echo: hi</body>');
    expect(back).not.toContain('jabber:component:accept');
    c.ws.close();
  });

  test('a from outside the component\'s domain is invalid-from (check_from)', async () => {
    const c = await WsComponent.connect(httpPort, 'strict.localhost');
    c.send(`<message from='someone@elsewhere.example' to='alice@localhost'><body>x</body></message>`);
    const frames = await c.waitClosed();
    expect(frames.join('')).toContain(`<invalid-from xmlns='${NS_STREAMS}'/>`);
  });

  test('a domain held over WebSocket cannot be claimed again (the registry is shared): conflict', async () => {
    const first = await WsComponent.connect(httpPort, 'taken.localhost');
    const second = await WsComponent.open(hiddenPort);
    const id = await second.openStream('taken.localhost');
    second.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    expect((await second.waitClosed()).join('')).toContain(`<conflict xmlns='${NS_STREAMS}'/>`);
    expect(first.closed).toBe(false);
    first.ws.close();
  });
});

test('components on a listener with hidden_components are hidden from local users\' disco#items', async () => {
  const shown = await WsComponent.connect(httpPort, 'shown.localhost');
  const hidden = await WsComponent.connect(hiddenPort, 'secret.localhost');
  expect(ts.server.components.isHidden('secret.localhost')).toBe(true);
  alice.clear();
  alice.send(`<iq type='get' id='items1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`);
  const items = await waitForElement(alice, /<iq [^>]*id='items1'/);
  expect(items).toContain(`jid='shown.localhost'`);
  expect(items).not.toContain('secret.localhost');
  shown.ws.close();
  hidden.ws.close();
});

test('clients still use RFC 7395 <open/> on the same endpoint', async () => {
  const ws = await WsComponent.open(httpPort);
  ws.send(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>`);
  expect(await ws.next(/^<open /)).toContain(`xmlns='urn:ietf:params:xml:ns:xmpp-framing'`);
  expect(await ws.next(/<stream:features/)).toContain('<mechanisms');
  ws.ws.close();
});

test('a server shutting down closes WebSocket components with system-shutdown', async () => {
  const port = await freePort();
  const own = await startTestServer({
    toml: `
[[listen.http]]
port = ${port}
ip_address = "127.0.0.1"
[listen.http.handlers.websocket]
[listen.http.handlers.websocket.component]
password = "${SECRET}"
`,
  });
  const c = await WsComponent.connect(port, 'bye.localhost');
  await own.stop();
  expect((await c.waitClosed()).join('')).toContain(`<system-shutdown xmlns='${NS_STREAMS}'/>`);
});
