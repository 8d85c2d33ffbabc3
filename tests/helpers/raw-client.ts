// A raw XMPP socket for tests that assert exact stream behaviour: send bytes, read
// until a pattern or the close, optionally upgrade to TLS mid-stream (STARTTLS).

import net from 'node:net';
import tls from 'node:tls';

export class RawClient {
  private socket: net.Socket;
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('utf8');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  static connect(port: number, options: { tls?: { ca: string; servername?: string } } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = options.tls
        ? tls.connect({ port, host: '127.0.0.1', ca: options.tls.ca, servername: options.tls.servername ?? 'localhost' })
        : net.connect(port, '127.0.0.1');
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Everything received so far. */
  get received(): string {
    return this.buffer;
  }

  /** Waits until the received text matches, or throws after the timeout with what came. */
  async waitFor(pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
    const test = () => (typeof pattern === 'string' ? this.buffer.includes(pattern) : pattern.test(this.buffer));
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
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

  /** Waits for the server to close the connection; returns everything received. */
  async waitForClose(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for close; received: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.buffer;
  }

  /** Upgrades the connection to TLS (after <proceed/>). */
  async startTls(ca: string, servername = 'localhost'): Promise<void> {
    const secure = tls.connect({ socket: this.socket, ca, servername });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.buffer = '';
    this.listen(secure);
  }

  clear(): void {
    this.buffer = '';
  }

  close(): void {
    this.socket.destroy();
  }
}

export const STREAM_OPEN = (to = 'localhost') =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`;
