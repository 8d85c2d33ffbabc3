// Raw HTTPS clients for the XEP-0178-over-HTTP tests: BOSH bodies POSTed with node:https
// (a client certificate per request, or none), and a WebSocket over tls.connect with a
// hand-written RFC 6455 handshake and frames, so the test controls the certificate.

import https from 'node:https';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import type { PemFiles } from '../external/certs.ts';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BOSH = 'http://jabber.org/protocol/httpbind';

export interface TlsClientOptions {
  /** CA that issued the server certificate. */
  ca: string;
  /** Client certificate to present, if any. */
  client?: PemFiles;
}

/** POSTs one BOSH body on a fresh TLS connection; resolves with the response body. */
export function postBosh(port: number, body: string, o: TlsClientOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      path: '/http-bind',
      method: 'POST',
      servername: 'localhost',
      ca: o.ca,
      cert: o.client?.cert,
      key: o.client?.key,
      agent: false,
      headers: { 'Content-Type': 'text/xml; charset=utf-8', Connection: 'close' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { text += chunk; });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function mechanismsOf(xml: string): string[] {
  return [...xml.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]!);
}

export const attr = (xml: string, name: string): string | undefined => new RegExp(`\\s${name}='([^']*)'|\\s${name}="([^"]*)"`).exec(xml)?.slice(1).find((v) => v !== undefined);

/** A BOSH session driven request by request; each request on its own TLS connection. */
export class BoshSessionClient {
  private rid = Math.floor(Math.random() * 1e9);
  sid = '';

  constructor(private readonly port: number, private readonly tlsOptions: TlsClientOptions) {}

  /** Creates the session; returns the first response (with the stream features). */
  async create(): Promise<string> {
    const reply = await this.send(`<body xmlns='${NS_BOSH}' content='text/xml; charset=utf-8' rid='${this.rid}' to='localhost' wait='1' hold='1' xml:lang='en' ver='1.11' xmpp:version='1.0' xmlns:xmpp='urn:xmpp:xbosh'/>`, false);
    this.sid = attr(reply, 'sid') ?? '';
    return reply;
  }

  /** Sends stanzas (or nothing) in the next body. `as` overrides the certificate of this request. */
  request(payload: string, extraAttrs = '', as?: TlsClientOptions): Promise<string> {
    return this.send(`<body xmlns='${NS_BOSH}' rid='${++this.rid}' sid='${this.sid}'${extraAttrs}>${payload}</body>`, true, as);
  }

  restart(): Promise<string> {
    return this.request('', ` to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'`);
  }

  private send(body: string, _inSession: boolean, as?: TlsClientOptions): Promise<string> {
    return postBosh(this.port, body, as ?? this.tlsOptions);
  }
}

/** A WebSocket (subprotocol xmpp) over TLS with a client certificate; text frames only. */
export class TlsWebSocket {
  private buffer = Buffer.alloc(0);
  private readonly frames: string[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private readonly socket: tls.TLSSocket) {}

  static connect(port: number, path: string, o: TlsClientOptions): Promise<TlsWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: o.ca, cert: o.client?.cert, key: o.client?.key }, () => {
        const key = randomBytes(16).toString('base64');
        socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n`);
      });
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        const status = head.subarray(0, end).toString('latin1').split('\r\n')[0]!;
        if (!/^HTTP\/1\.1 101/.test(status)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${status}`));
          return;
        }
        const ws = new TlsWebSocket(socket);
        socket.on('data', (d: Buffer) => ws.onData(d));
        socket.on('close', () => { ws.closed = true; ws.wake(); });
        ws.onData(head.subarray(end + 4));
        resolve(ws);
      };
      socket.on('data', onData);
      socket.on('error', reject);
    });
  }

  send(text: string): void {
    const payload = Buffer.from(text, 'utf8');
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x81, 0x80 | len]) : Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  /** The next text frame matching `pattern` (earlier non-matching frames are skipped). */
  async next(pattern: RegExp = /./, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.frames.length > 0) {
        const frame = this.frames.shift()!;
        if (pattern.test(frame)) return frame;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${pattern}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) break;
      const opcode = this.buffer[0]! & 0x0f;
      let len = this.buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buffer.length < 4) break;
        len = this.buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) break;
        len = Number(this.buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buffer.length < at + len) break;
      const payload = this.buffer.subarray(at, at + len);
      this.buffer = this.buffer.subarray(at + len);
      if (opcode === 0x1) this.frames.push(payload.toString('utf8'));
      else if (opcode === 0x8) this.closed = true;
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
