// A raw socket for hostile tests: connect from a chosen loopback address (127.0.0.2 is
// another client IP as far as the server can tell), send bytes, read what comes back,
// and write floods that respect backpressure so the test itself never buffers them.

import net from 'node:net';
import tls from 'node:tls';

export interface ConnectOptions {
  /** Source address (any 127.x.y.z works on Linux loopback). */
  from?: string;
  /** Connect with TLS, trusting this CA. */
  ca?: string;
}

/** Bytes a flood lets sit in this process's socket buffer before it waits. */
const FLOOD_HIGH_WATER = 256 * 1024;

export class HostileSocket {
  private chunks: Buffer[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, options: ConnectOptions = {}): Promise<HostileSocket> {
    return new Promise((resolve, reject) => {
      const base = { host: '127.0.0.1', port, localAddress: options.from };
      const socket = options.ca
        ? tls.connect({ ...base, ca: options.ca, servername: 'localhost' })
        : net.connect(base);
      socket.once(options.ca ? 'secureConnect' : 'connect', () => resolve(new HostileSocket(socket)));
      socket.once('error', reject);
      // A refused TLS connection may close before the handshake completes.
      socket.once('close', () => reject(new Error('closed before connecting')));
    });
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  send(data: string | Uint8Array): void {
    if (!this.closed) this.socket.write(data);
  }

  clear(): void {
    this.chunks = [];
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${this.text.slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    const test = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    await this.until(() => test() || this.closed, String(pattern), timeoutMs);
    if (!test()) throw new Error(`closed before ${pattern}; received: ${this.text.slice(0, 2000)}`);
    return this.text;
  }

  async waitForClose(timeoutMs = 5000): Promise<string> {
    await this.until(() => this.closed, 'close', timeoutMs);
    return this.text;
  }

  /**
   * Writes `total` bytes made by `chunk(i)` (each call one chunk), waiting for 'drain'
   * whenever the socket buffers, until everything went out, the peer closed, or
   * `deadline` ms passed. Returns how many bytes the kernel took.
   */
  async flood(total: number, chunk: (i: number) => Uint8Array, deadlineMs = 10_000): Promise<{ sent: number; closed: boolean }> {
    const end = Date.now() + deadlineMs;
    let sent = 0;
    let i = 0;
    while (sent < total && !this.closed && Date.now() < end) {
      const bytes = chunk(i++);
      sent += bytes.length;
      const accepted = this.socket.write(bytes);
      // A TLS socket may accept writes without signalling backpressure while it still holds
      // them; waiting on the buffered length as well keeps the flood honest (what counts as
      // sent is at most one chunk ahead of what left this process), and yielding each round
      // lets a close from the server be seen between writes.
      if (!accepted || this.socket.writableLength > FLOOD_HIGH_WATER) await this.drained(end);
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return { sent, closed: this.closed };
  }

  private drained(end: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        clearInterval(poll);
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, end - Date.now()));
      // 'drain' only follows a write that returned false; a buffer that empties after a
      // write that returned true is noticed by polling.
      const poll = setInterval(() => { if (this.socket.writableLength <= FLOOD_HIGH_WATER) done(); }, 5);
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

export const header = (to = 'localhost') =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`;

export const plain = (user: string, password: string) =>
  `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`;

/** The one stream error condition in `text`, or undefined. */
export function streamErrorCondition(text: string): string | undefined {
  const m = /<stream:error[^>]*>\s*<([a-z-]+) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/.exec(text);
  return m?.[1];
}

/** Opens a stream over direct TLS, logs in with PLAIN and binds `resource`. */
export async function login(port: number, ca: string, user: string, password: string, resource: string, from?: string): Promise<HostileSocket> {
  const s = await HostileSocket.connect(port, { ca, from });
  s.send(header());
  await s.waitFor('</stream:features>');
  s.clear();
  s.send(plain(user, password));
  await s.waitFor(/<success|<failure/);
  if (!s.text.includes('<success')) throw new Error(`login failed: ${s.text}`);
  s.clear();
  s.send(header());
  await s.waitFor('</stream:features>');
  s.clear();
  s.send(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
  await s.waitFor(/<iq [^>]*id='bind'/);
  if (!s.text.includes("type='result'")) throw new Error(`bind failed: ${s.text}`);
  s.clear();
  return s;
}
