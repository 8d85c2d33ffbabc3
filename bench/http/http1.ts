// A minimal HTTP/1.1 keep-alive client over one loopback socket: the benchmark holds a
// thousand BOSH requests at once, more than fetch's connection pool lets one process open.
// One request at a time per connection; responses must carry Content-Length (ours do).

import net from 'node:net';

export class Http1Connection {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (body: string) => void; reject: (e: Error) => void } | undefined;

  constructor(private readonly host: string, private readonly port: number) {}

  get busy(): boolean {
    return this.waiting !== undefined;
  }

  /** POSTs `body` to `path`; resolves with the response body (status 200 only). */
  post(path: string, body: string): Promise<string> {
    if (this.waiting) return Promise.reject(new Error('http1: one request at a time'));
    const socket = this.connect();
    const bytes = Buffer.from(body);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${bytes.length}\r\n\r\n`);
      socket.write(bytes);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): net.Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const fail = (err: Error) => {
      const w = this.waiting;
      this.waiting = undefined;
      this.socket = undefined;
      w?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('http1: connection closed')));
    return socket;
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isFinite(length)) return this.waiting?.reject(new Error(`http1: no Content-Length in ${head.split('\r\n')[0]}`));
    if (this.buffer.length < end + 4 + length) return;
    const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    const status = Number(head.slice(9, 12));
    const w = this.waiting;
    this.waiting = undefined;
    if (status !== 200) w?.reject(new Error(`http1: status ${status}`));
    else w?.resolve(body);
  }
}
