// One client socket of the load generator, on Bun's native socket API (no streams, no
// client library: the load client must not be the bottleneck). Writes that the kernel
// does not take at once are queued and flushed on drain; reads are decoded as UTF-8 and
// handed to whoever listens.

import type { Socket } from 'bun';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Direct TLS (XEP-0368) trusting this CA certificate; plain TCP when undefined. */
  tlsCa?: string;
  /** Name the certificate is checked against. */
  serverName: string;
}

export type TextListener = (text: string) => void;

/** What the XMPP client needs from a transport: text in, text out, a close. */
export interface TextConnection {
  readonly closed: boolean;
  readonly error: Error | undefined;
  write(text: string): void;
  onText(listener: TextListener): void;
  close(timeoutMs?: number): Promise<void>;
}

export class Connection implements TextConnection {
  private socket: Socket<Connection> | undefined;
  private readonly decoder = new TextDecoder();
  private readonly encoder = new TextEncoder();
  private queue: Uint8Array[] = [];
  private listener: TextListener = () => {};
  private closeWaiters: Array<() => void> = [];
  closed = false;
  /** Why the socket closed, when it was not us. */
  error: Error | undefined;

  static async open(options: ConnectOptions): Promise<Connection> {
    const conn = new Connection();
    const socket = await Bun.connect<Connection>({
      hostname: options.host,
      port: options.port,
      data: conn,
      tls: options.tlsCa === undefined ? undefined : { ca: options.tlsCa, serverName: options.serverName, rejectUnauthorized: true },
      socket: {
        data(s, bytes) { s.data.onData(bytes); },
        drain(s) { s.data.flush(); },
        close(s, err) { s.data.onClose(err); },
        error(s, err) { s.data.onClose(err); },
        connectError(s, err) { s.data.onClose(err); },
      },
    });
    conn.socket = socket;
    return conn;
  }

  /** Replaces the receiver of decoded text. */
  onText(listener: TextListener): void {
    this.listener = listener;
  }

  write(text: string): void {
    if (this.closed || this.socket === undefined) return;
    const bytes = this.encoder.encode(text);
    if (this.queue.length > 0) {
      this.queue.push(bytes);
      return;
    }
    const n = this.socket.write(bytes);
    if (n < bytes.length) this.queue.push(bytes.subarray(Math.max(0, n)));
  }

  private flush(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = socket.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
  }

  private onData(bytes: Uint8Array): void {
    this.listener(this.decoder.decode(bytes, { stream: true }));
  }

  private onClose(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (err) this.error = err;
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Ends the socket and waits (bounded) for the close. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    this.socket?.end();
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs));
    await Promise.race([closed, timer]);
    if (!this.closed) this.socket?.terminate();
  }
}
