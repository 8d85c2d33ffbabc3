// Raw HTTPS clients for the XEP-0178-over-HTTP tests: BOSH bodies POSTed with node:https
// (a client certificate per request, or none), and a WebSocket over tls.connect with a
// hand-written RFC 6455 handshake and frames, so the test controls the certificate.

import https from 'node:https';
import tls from 'node:tls';
import type { PemFiles } from '../external/certs.ts';
import { clientFrame, OPCODE_CLOSE, OPCODE_TEXT, ServerFrameReader, upgradeToXmpp } from '../../helpers/ws-frames.ts';

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
  private readonly reader = new ServerFrameReader();
  private readonly frames: string[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private readonly socket: tls.TLSSocket) {}

  static async connect(port: number, path: string, o: TlsClientOptions): Promise<TlsWebSocket> {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: o.ca, cert: o.client?.cert, key: o.client?.key }, () => resolve(s));
      s.once('error', reject);
    });
    const first = await upgradeToXmpp(socket, path, 'localhost');
    const ws = new TlsWebSocket(socket);
    socket.on('data', (d: Buffer) => ws.onData(d));
    socket.on('close', () => { ws.closed = true; ws.wake(); });
    socket.on('error', () => {});
    ws.onData(first);
    return ws;
  }


  send(text: string): void {
    this.socket.write(clientFrame(OPCODE_TEXT, Buffer.from(text, 'utf8')));
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
    for (const { opcode, payload } of this.reader.push(chunk)) {
      if (opcode === OPCODE_TEXT) this.frames.push(payload.toString('utf8'));
      else if (opcode === OPCODE_CLOSE) this.closed = true;
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
