// A raw client socket that can present a client certificate, over STARTTLS or direct TLS,
// with the few negotiation steps the SASL EXTERNAL tests repeat.

import net from 'node:net';
import tls from 'node:tls';
import type { PemFiles } from './certs.ts';

export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

export const header = (to = 'localhost') =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`;

export const b64 = (s: string) => (s === '' ? '=' : Buffer.from(s, 'utf8').toString('base64'));

export interface TlsIdentity {
  /** CA the server certificate is checked against. */
  ca: string;
  /** Client certificate and key to present, if any. */
  client?: PemFiles;
}

export class CertWire {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private sock: net.Socket) {
    this.listen(sock);
  }

  private listen(sock: net.Socket): void {
    sock.on('data', (d: Buffer) => {
      this.buffer += d.toString('utf8');
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('error', () => {});
  }

  private static tlsOptions(id: TlsIdentity): tls.ConnectionOptions {
    return { ca: id.ca, servername: 'localhost', cert: id.client?.cert, key: id.client?.key };
  }

  /** Direct TLS (XEP-0368), then the stream header; resolves with the features. */
  static async directTls(port: number, id: TlsIdentity): Promise<{ wire: CertWire; features: string }> {
    const sock = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ...CertWire.tlsOptions(id) });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    const wire = new CertWire(sock);
    return { wire, features: await wire.open() };
  }

  /** Plain TCP, STARTTLS presenting the certificate, then a new stream; resolves with the features. */
  static async startTls(port: number, id: TlsIdentity): Promise<{ wire: CertWire; features: string }> {
    const plain = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
    const wire = new CertWire(plain);
    await wire.open();
    wire.send(`<starttls xmlns='${NS_TLS}'/>`);
    await wire.waitFor('<proceed');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, ...CertWire.tlsOptions(id) });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
    plain.removeAllListeners('data');
    wire.sock = secure;
    wire.listen(secure);
    return { wire, features: await wire.open() };
  }

  get text(): string {
    return this.buffer;
  }

  send(data: string): void {
    this.sock.write(data);
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    const matches = () => (typeof pattern === 'string' ? this.buffer.includes(pattern) : pattern.test(this.buffer));
    const deadline = Date.now() + timeoutMs;
    while (!matches()) {
      if (this.closed) throw new Error(`connection closed before ${pattern}; received: ${this.buffer}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; received: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.buffer;
  }

  /** Sends a stream header and returns the features. */
  async open(): Promise<string> {
    this.buffer = '';
    this.send(header());
    const text = await this.waitFor('</stream:features>');
    return text.slice(text.indexOf('<stream:features>'));
  }

  /** Sends one SASL element and returns the server's answer (challenge, success or failure). */
  async sasl(xml: string): Promise<string> {
    this.buffer = '';
    this.send(xml);
    const text = await this.waitFor(/<(challenge|success|failure)[ >/][\s\S]*?(<\/challenge>|<\/success>|<\/failure>|\/>)/);
    return text;
  }

  /** After <success/>: restart the stream and bind a resource; returns the bound JID. */
  async bind(): Promise<string> {
    const features = await this.open();
    if (!features.includes(`<bind xmlns='${NS_BIND}'/>`)) throw new Error(`no bind feature: ${features}`);
    this.buffer = '';
    this.send(`<iq type='set' id='b1'><bind xmlns='${NS_BIND}'/></iq>`);
    const text = await this.waitFor('</iq>');
    const m = /<jid>([^<]+)<\/jid>/.exec(text);
    if (!m) throw new Error(`bind failed: ${text}`);
    return m[1]!;
  }

  close(): void {
    this.sock.destroy();
  }
}

export const mechanisms = (features: string): string[] =>
  [...features.matchAll(/<mechanism>([^<]+)<\/mechanism>/g)].map((m) => m[1]!);

export const authExternal = (authzid: string | null) =>
  authzid === null ? `<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'/>` : `<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>${b64(authzid)}</auth>`;

export const failureOf = (answer: string): string | undefined => /<failure xmlns='[^']+'><([a-z-]+)\/>/.exec(answer)?.[1];
