// A raw XMPP client socket for c2s tests: exact bytes in and out, STARTTLS on demand, the
// TLS socket exposed (channel binding), and the usual negotiation steps as small helpers.

import net from 'node:net';
import tls from 'node:tls';
import { expect } from 'bun:test';
import type { TestServer } from '../../helpers/test-server.ts';
import { b64, ScramClient, unb64, type ScramHashName } from './scram-client.ts';

export const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

export const header = (to = 'localhost', extra = '') =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'${extra}>`;

export class Wire {
  private bytes = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(private sock: net.Socket | tls.TLSSocket) {
    this.listen(sock);
  }

  static connect(port: number, options: { ca?: string } = {}): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const sock = options.ca
        ? tls.connect({ port, host: '127.0.0.1', ca: options.ca, servername: 'localhost' })
        : net.connect(port, '127.0.0.1');
      sock.once(options.ca ? 'secureConnect' : 'connect', () => resolve(new Wire(sock)));
      sock.once('error', reject);
    });
  }

  private listen(sock: net.Socket): void {
    sock.on('data', (d: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, d]);
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(done: () => boolean, what: string, timeoutMs: number, allowClose: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.closed && !allowClose) throw new Error(`connection closed before ${what}; received: ${this.text}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${this.text}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** The TLS socket once encrypted (for channel binding data). */
  get tlsSocket(): tls.TLSSocket {
    if (!(this.sock instanceof tls.TLSSocket)) throw new Error('not encrypted');
    return this.sock;
  }

  get raw(): Buffer {
    return this.bytes;
  }

  get text(): string {
    return this.bytes.toString('utf8');
  }

  send(data: string | Uint8Array): void {
    this.sock.write(data);
  }

  clear(): void {
    this.bytes = Buffer.alloc(0);
  }

  /** Waits until the received text matches; returns the text. */
  async waitFor(pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
    const test = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    await this.until(test, String(pattern), timeoutMs, false);
    return this.text;
  }

  /** Waits for the match, then removes everything up to the end of it from the buffer. */
  async take(pattern: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
    await this.waitFor(pattern, timeoutMs);
    const text = this.text;
    const m = pattern.exec(text)!;
    this.bytes = Buffer.from(text.slice(m.index + m[0].length), 'utf8');
    return m;
  }

  async waitForClose(timeoutMs = 5000): Promise<string> {
    await this.until(() => this.closed, 'close', timeoutMs, true);
    return this.text;
  }

  /** Upgrades the socket to TLS after <proceed/>. */
  async startTls(ca: string): Promise<void> {
    const secure = tls.connect({ socket: this.sock, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.sock.removeAllListeners('data');
    this.sock = secure;
    this.bytes = Buffer.alloc(0);
    this.listen(secure);
  }

  close(): void {
    this.sock.destroy();
  }
}

/**
 * Asserts the stream ended with exactly this stream error, the closing tag, then the close.
 * When `afterHeader` is set, the error must follow a fresh stream header of ours (the
 * error answers a stream header, RFC 6120 §4.9.1.1) and nothing but that header.
 */
export async function expectStreamError(wire: Wire, condition: string, timeoutMs = 5000, afterHeader = false): Promise<string> {
  const text = await wire.waitForClose(timeoutMs);
  const errors = text.match(/<stream:error>.*?<\/stream:error>/gs) ?? [];
  expect(errors.length).toBe(1);
  expect(errors[0]).toContain(`<${condition} xmlns='${NS_STREAMS}'/>`);
  expect(text.trimEnd().endsWith('</stream:stream>')).toBe(true);
  if (afterHeader) expect(text).toMatch(/^<\?xml version='1.0'\?><stream:stream [^>]*>(<stream:features>.*<\/stream:features>)?<stream:error>/s);
  return text;
}

/** Sends a stream header and waits for the features. */
export async function openStream(wire: Wire, to = 'localhost'): Promise<string> {
  wire.clear();
  wire.send(header(to));
  return wire.waitFor('</stream:features>');
}

/** Connects to the STARTTLS port, negotiates TLS and reopens the stream: features with SASL. */
export async function connectTls(ts: TestServer): Promise<{ wire: Wire; features: string }> {
  const wire = await Wire.connect(ts.c2sPort);
  await openStream(wire);
  wire.send(`<starttls xmlns='${NS_TLS}'/>`);
  await wire.waitFor(`<proceed xmlns='${NS_TLS}'/>`);
  await wire.startTls(ts.ca);
  const features = await openStream(wire);
  return { wire, features };
}

/** Connects on the direct TLS port and opens the stream. */
export async function connectDirectTls(ts: TestServer): Promise<{ wire: Wire; features: string }> {
  const wire = await Wire.connect(ts.tlsPort, { ca: ts.ca });
  const features = await openStream(wire);
  return { wire, features };
}

export function plainPayload(user: string, password: string, authzid = ''): string {
  return b64(`${authzid}\0${user}\0${password}`);
}

/** SASL PLAIN on an encrypted stream; resolves after <success/>. */
export async function authPlain(wire: Wire, user: string, password: string): Promise<void> {
  wire.clear();
  wire.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainPayload(user, password)}</auth>`);
  await wire.waitFor(/<success[^>]*\/>|<success[^>]*>.*<\/success>|<failure/);
  expect(wire.text).toContain('<success');
}

/** A full SCRAM exchange; returns the server's final message (already verified). */
export async function authScram(
  wire: Wire,
  mechanism: string,
  hash: ScramHashName,
  user: string,
  password: string,
  channelBinding?: { type: string; data: Uint8Array },
): Promise<void> {
  const client = new ScramClient({ hash, username: user, password, channelBinding });
  wire.clear();
  wire.send(`<auth xmlns='${NS_SASL}' mechanism='${mechanism}'>${b64(client.first())}</auth>`);
  const challenge = await wire.take(/<challenge xmlns='[^']+'>([^<]*)<\/challenge>|<failure.*<\/failure>/s);
  if (challenge[1] === undefined) throw new Error(`SCRAM refused: ${challenge[0]}`);
  wire.send(`<response xmlns='${NS_SASL}'>${b64(client.final(unb64(challenge[1])))}</response>`);
  const success = await wire.take(/<success xmlns='[^']+'>([^<]*)<\/success>|<failure.*<\/failure>/s);
  if (success[1] === undefined) throw new Error(`SCRAM failed: ${success[0]}`);
  expect(client.verify(unb64(success[1]))).toBe(true);
}

/** Binds a resource (or lets the server pick one); returns the full JID. */
export async function bind(wire: Wire, resource?: string): Promise<string> {
  wire.clear();
  const res = resource === undefined ? '' : `<resource>${resource}</resource>`;
  wire.send(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'>${res}</bind></iq>`);
  const text = await wire.waitFor(/<iq [^>]*id='bind1'.*?<\/iq>|<iq [^>]*id='bind1'[^>]*\/>/s);
  const m = /<jid>([^<]+)<\/jid>/.exec(text);
  if (!m) throw new Error(`bind failed: ${text}`);
  wire.clear();
  return m[1]!;
}

/** STARTTLS, PLAIN, restart, bind: a ready session. */
export async function login(ts: TestServer, user: string, password: string, resource?: string): Promise<{ wire: Wire; jid: string }> {
  const { wire } = await connectTls(ts);
  await authPlain(wire, user, password);
  await openStream(wire);
  const jid = await bind(wire, resource);
  return { wire, jid };
}
