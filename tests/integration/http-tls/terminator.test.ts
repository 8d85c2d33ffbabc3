// The TLS terminator in front of Bun.serve (server/runtime/bun-tls-terminator.ts): each
// proxied connection is known to the internal server by its port for exactly as long as it
// is open, with the client's address and certificate; a connection made straight to the
// internal port is not served.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { createCertKit } from '../external/certs.ts';
import { bunRuntime } from '../../../server/runtime/bun.ts';
import type { HttpServer } from '../../../server/runtime/types.ts';
import { freePort } from '../../helpers/ports.ts';

const kit = createCertKit();
const alice = kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] });
let server: HttpServer;
let port: number;

beforeAll(async () => {
  port = await freePort();
  server = await bunRuntime.serveHttp(
    { hostname: '127.0.0.1', port, tls: { cert: kit.server.cert, key: kit.server.key, ca: kit.ca.cert, requestCert: true } },
    (_request, info) => {
      const der = info.tls?.peerCertificate();
      const subject = der === undefined ? 'none' : new X509Certificate(der).subject.replace(/\n/g, ',');
      return new Response(`${info.remoteAddress} ${subject} ${info.tls?.peerAuthorized ?? false}`);
    },
  );
});
afterAll(async () => {
  await server?.stop();
  kit.remove();
});

function get(agent: https.Agent | false, client?: typeof alice): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', servername: 'localhost', ca: kit.ca.cert, cert: client?.cert, key: client?.key, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

test('the handler sees the client address and the certificate of the connection each request came on', async () => {
  expect(await get(false, alice)).toBe('127.0.0.1 O=Meerkat tests,CN=alice true');
  expect(await get(false)).toBe('127.0.0.1 none false');
});

test('several requests on one kept-alive connection all carry its certificate', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) expect(await get(agent, alice)).toBe('127.0.0.1 O=Meerkat tests,CN=alice true');
  } finally {
    agent.destroy();
  }
});

test('large responses and request bodies pass through the terminator intact', async () => {
  const big = 'x'.repeat(3 * 1024 * 1024);
  const echoPort = await freePort();
  const echo = await bunRuntime.serveHttp(
    { hostname: '127.0.0.1', port: echoPort, tls: { cert: kit.server.cert, key: kit.server.key, ca: kit.ca.cert, requestCert: true } },
    async (request) => new Response((await request.text()) + big),
  );
  try {
    const text = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: echoPort, method: 'POST', path: '/', servername: 'localhost', ca: kit.ca.cert, agent: false }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { t += c; });
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
      req.end(big);
    });
    expect(text.length).toBe(2 * big.length);
  } finally {
    await echo.stop();
  }
});

test('an entry lives as long as its connection; a direct connection to the internal port is not served', async () => {
  const { startTlsTerminator } = await import('../../../server/runtime/bun-tls-terminator.ts');
  let terminator: ReturnType<typeof startTlsTerminator> | undefined;
  const internal = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(request, srv) {
      const conn = terminator?.lookup(srv.requestIP(request)?.port ?? 0);
      return conn === undefined ? new Response('unknown', { status: 421 }) : new Response(`known ${conn.tls.version}`);
    },
  });
  terminator = startTlsTerminator({
    hostname: '127.0.0.1',
    port: 0,
    tls: { cert: kit.server.cert, key: kit.server.key, ca: kit.ca.cert },
    internalPort: internal.port!,
    tlsInfo: (socket) => ({
      version: socket.getTLSVersion() ?? 'unknown',
      exportKeyingMaterial: () => undefined,
      localCertificate: () => undefined,
      peerCertificate: () => undefined,
      peerAuthorized: false,
      peerAuthorizationError: undefined,
    }),
  });
  const tls = await import('node:tls');
  try {
    const socket = tls.connect({ host: '127.0.0.1', port: terminator.port, servername: 'localhost', ca: kit.ca.cert });
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n') && /known \S+$/.test(text)) resolve(text);
      });
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200[\s\S]*known TLSv1\.3$/);
    expect(terminator.size).toBe(1);
    socket.destroy();
    // Closing propagates through both sockets asynchronously: wait for it, without a deadline assertion.
    while (terminator.size > 0) await Bun.sleep(5);
    expect(terminator.size).toBe(0);

    const direct = await fetch(`http://127.0.0.1:${internal.port}/`);
    expect(direct.status).toBe(421);
  } finally {
    terminator.stop();
    await internal.stop(true);
  }
});
