// The HTTP listener's idle timeout (`[[listen.http]] idle_timeout`): connections that hold
// a socket without sending — an idle keep-alive, a request body that stalls — are closed
// (a request head that never completes is cut by the runtime's own head timer), while a BOSH request the server holds on purpose (long polling) is answered at
// the end of its `wait`, however much longer that is than the idle timeout.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import net from 'node:net';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { freePort } from '../helpers/ports.ts';

const NS_BOSH = 'http://jabber.org/protocol/httpbind';

let ts: TestServer;
let port: number;

beforeAll(async () => {
  port = await freePort();
  ts = await startTestServer({
    toml: `
[[listen.http]]
port = ${port}
ip_address = "127.0.0.1"
idle_timeout = "1s"
[listen.http.handlers.bosh]
[listen.http.handlers.websocket]
`,
  });
});
afterAll(() => ts?.stop());

/** A raw HTTP/1.1 connection that records what it receives and when it is closed. */
async function connect(): Promise<{ socket: net.Socket; text: () => string; closed: Promise<number> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  const opened = Date.now();
  socket.on('data', (d: Buffer) => { text += d.toString('utf8'); });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  return { socket, text: () => text, closed };
}

const post = (body: string, keepAlive = true) =>
  `POST /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
  `Connection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n${body}`;

/** Resolves after `ms`, or with 'closed' if the connection closed first. */
const within = (closed: Promise<number>, ms: number) =>
  Promise.race([closed.then(() => 'closed' as const), new Promise<'open'>((r) => setTimeout(() => r('open'), ms))]);

test('connections that send nothing, or stall inside the request head, are closed unanswered', async () => {
  // Before a request head is complete the runtime's own head timer applies (Bun: about
  // 10 s, whatever idle_timeout says); both are waited for together.
  const silent = await connect();
  const stalled = await connect();
  stalled.socket.write('POST /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le');
  expect(await Promise.all([within(silent.closed, 20_000), within(stalled.closed, 20_000)])).toEqual(['closed', 'closed']);
  expect(silent.text() + stalled.text()).toBe('');
}, 30_000);

test('a body that stops before its Content-Length is closed without reaching the BOSH endpoint', async () => {
  const c = await connect();
  c.socket.write(`POST /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 500\r\n\r\n<body xmlns='${NS_BOSH}'`);
  expect(await within(c.closed, 10_000)).toBe('closed');
  expect(c.text()).not.toContain('sid=');
}, 15_000);

test('a kept-alive connection left idle after its response is closed', async () => {
  const c = await connect();
  c.socket.write('GET /http-bind HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
  expect(await within(c.closed, 10_000)).toBe('closed');
  expect(c.text()).toStartWith('HTTP/1.1 200');
}, 15_000);

test('a BOSH request held for wait = 9 s, longer than the idle timeout and the timer\'s few seconds of slack, gets its empty answer on the same connection', async () => {
  const c = await connect();
  const rid = 1000 + Math.floor(Math.random() * 1e6);
  c.socket.write(post(`<body xmlns='${NS_BOSH}' content='text/xml; charset=utf-8' rid='${rid}' to='localhost' wait='9' hold='1' ver='1.11' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>`));
  const deadline = Date.now() + 5000;
  while (!c.text().includes('</stream:features>') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const sid = /sid='([^']+)'/.exec(c.text())?.[1];
  expect(sid).toBeDefined();
  const before = c.text().length;
  const asked = Date.now();
  // An empty body: nothing to answer with, so the server holds it until `wait` has passed.
  c.socket.write(post(`<body xmlns='${NS_BOSH}' rid='${rid + 1}' sid='${sid}'/>`));
  while (c.text().length === before && Date.now() < deadline + 15_000) {
    if (await within(c.closed, 50) === 'closed') break;
  }
  const answer = c.text().slice(before);
  expect(answer).toStartWith('HTTP/1.1 200');
  expect(answer).toMatch(/<body [^>]*\/>$/);
  // Held for its wait, not cut by the 1 s idle timer.
  expect(Date.now() - asked).toBeGreaterThanOrEqual(8500);
  c.socket.destroy();
}, 30_000);
