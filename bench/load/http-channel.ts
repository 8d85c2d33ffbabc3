// One keep-alive HTTP/1.1 connection of the load generator, on Bun's native sockets: one
// POST at a time, the answer read by Content-Length (chunked answers are decoded too).
// A BOSH session holds two of these, as a browser would (XEP-0124 "requests = 2").

import type { Socket } from 'bun';

export class HttpChannel {
  private socket: Socket<HttpChannel> | undefined;
  private buffer = new Uint8Array(0);
  private pending: { resolve: (body: string) => void; reject: (err: Error) => void } | undefined;
  private queue: Uint8Array[] = [];
  private readonly decoder = new TextDecoder();
  closed = false;
  busy = false;

  private constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  static async open(host: string, port: number): Promise<HttpChannel> {
    const ch = new HttpChannel(host, port);
    await ch.connect();
    return ch;
  }

  private async connect(): Promise<void> {
    this.closed = false;
    this.buffer = new Uint8Array(0);
    this.socket = await Bun.connect<HttpChannel>({
      hostname: this.host,
      port: this.port,
      data: this,
      socket: {
        data(s, bytes) { s.data.onData(bytes); },
        drain(s) { s.data.flush(); },
        close(s) { s.data.onClose(new Error('connection closed')); },
        error(s, err) { s.data.onClose(err); },
        connectError(s, err) { s.data.onClose(err); },
      },
    });
  }

  /** POSTs `body` to `path`; resolves with the answer's body (status 200 only). */
  async post(path: string, body: string): Promise<string> {
    if (this.closed) await this.connect();
    this.busy = true;
    const payload = new TextEncoder().encode(body);
    const head = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: ${payload.length}\r\n\r\n`;
    const request = new Uint8Array(Buffer.byteLength(head) + payload.length);
    request.set(new TextEncoder().encode(head));
    request.set(payload, request.length - payload.length);
    try {
      return await new Promise<string>((resolve, reject) => {
        this.pending = { resolve, reject };
        this.write(request);
      });
    } finally {
      this.busy = false;
    }
  }

  private write(bytes: Uint8Array): void {
    if (this.queue.length > 0) {
      this.queue.push(bytes);
      return;
    }
    const n = this.socket!.write(bytes);
    if (n < bytes.length) this.queue.push(bytes.subarray(Math.max(0, n)));
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = this.socket!.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
  }

  private onData(bytes: Uint8Array): void {
    const joined = new Uint8Array(this.buffer.length + bytes.length);
    joined.set(this.buffer);
    joined.set(bytes, this.buffer.length);
    this.buffer = joined;
    this.tryParse();
  }

  private tryParse(): void {
    const b = this.buffer;
    let headEnd = -1;
    for (let i = 3; i < b.length; i++) {
      if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) {
        headEnd = i + 1;
        break;
      }
    }
    if (headEnd < 0) return;
    const head = this.decoder.decode(b.subarray(0, headEnd));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let body: string;
    let consumed: number;
    if (length) {
      const n = Number(length[1]);
      if (b.length < headEnd + n) return;
      body = this.decoder.decode(b.subarray(headEnd, headEnd + n));
      consumed = headEnd + n;
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parsed = dechunk(b, headEnd);
      if (parsed === undefined) return;
      body = this.decoder.decode(parsed.body);
      consumed = parsed.end;
    } else {
      this.fail(new Error(`HTTP answer without a length: ${head}`));
      return;
    }
    this.buffer = b.slice(consumed);
    const p = this.pending;
    this.pending = undefined;
    if (status !== 200) p?.reject(new Error(`HTTP ${status}: ${body.slice(0, 300)}`));
    else p?.resolve(body);
    if (/\r\nconnection:\s*close/i.test(head)) this.socket?.end();
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(err);
  }

  private onClose(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.fail(err);
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
  }
}

/** Decodes a chunked body starting at `from`; undefined until the last chunk is in. */
function dechunk(b: Uint8Array, from: number): { body: Uint8Array; end: number } | undefined {
  const parts: Uint8Array[] = [];
  let at = from;
  for (;;) {
    let lineEnd = -1;
    for (let i = at; i + 1 < b.length; i++) {
      if (b[i] === 13 && b[i + 1] === 10) {
        lineEnd = i;
        break;
      }
    }
    if (lineEnd < 0) return undefined;
    const size = parseInt(new TextDecoder().decode(b.subarray(at, lineEnd)), 16);
    const start = lineEnd + 2;
    if (b.length < start + size + 2) return undefined;
    if (size === 0) {
      const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        body.set(p, o);
        o += p.length;
      }
      return { body, end: start + 2 };
    }
    parts.push(b.subarray(start, start + size));
    at = start + size + 2;
  }
}
