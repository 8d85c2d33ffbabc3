// Minimal WebSocket (RFC 7395) and BOSH (XEP-0124/0206) clients for hostile tests against a
// real server: they send exactly the bytes given and report how the server ended things.

export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';

export class WsClient {
  readonly frames: string[] = [];
  closed = false;
  closeCode = 0;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.frames.push(typeof e.data === 'string' ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
      this.wake();
    };
    ws.onclose = (e) => {
      this.closed = true;
      this.closeCode = e.code;
      this.wake();
    };
  }

  static connect(port: number): Promise<WsClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws-xmpp`, ['xmpp']);
    return new Promise((resolve, reject) => {
      ws.onopen = () => resolve(new WsClient(ws));
      ws.onerror = () => reject(new Error('WebSocket connect failed'));
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  get text(): string {
    return this.frames.join('');
  }

  async until(done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${this.text.slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async open(to = 'localhost'): Promise<void> {
    this.ws.send(`<open xmlns='${NS_FRAMING}' to='${to}' version='1.0'/>`);
    await this.until(() => this.text.includes('</stream:features>'), 'features');
  }

  send(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  waitForClose(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, 'close', timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}

export class BoshClient {
  sid = '';
  rid = 1000 + Math.floor(Math.random() * 1000);

  constructor(readonly port: number) {}

  async post(body: string | Uint8Array): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.port}/http-bind`, {
      method: 'POST',
      body: body as string | Uint8Array<ArrayBuffer>,
      headers: { 'Content-Type': 'text/xml; charset=utf-8' },
    });
    return res.text();
  }

  async create(to = 'localhost'): Promise<string> {
    const reply = await this.post(
      `<body rid='${this.rid}' to='${to}' xml:lang='en' wait='5' hold='1' ver='1.11' xmpp:version='1.0' xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh'/>`,
    );
    this.sid = /\ssid='([^']+)'/.exec(reply)?.[1] ?? '';
    if (this.sid === '') throw new Error(`no session: ${reply}`);
    return reply;
  }

  /** The bytes of a body in this session around `payload` (raw bytes, not escaped). */
  bodyBytes(payload: Uint8Array | string): Uint8Array {
    const enc = new TextEncoder();
    const open = enc.encode(`<body rid='${++this.rid}' sid='${this.sid}' xmlns='${NS_HTTPBIND}'>`);
    const inner = typeof payload === 'string' ? enc.encode(payload) : payload;
    const close = enc.encode('</body>');
    const out = new Uint8Array(open.length + inner.length + close.length);
    out.set(open, 0);
    out.set(inner, open.length);
    out.set(close, open.length + inner.length);
    return out;
  }

  send(payload: Uint8Array | string): Promise<string> {
    return this.post(this.bodyBytes(payload));
  }
}
