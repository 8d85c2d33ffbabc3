// WebSocket (RFC 6455, subprotocol xmpp) and BOSH clients that connect from a chosen
// loopback source address (any 127.x.y.z on Linux), so one test process can be many
// client addresses as far as the server's guard can tell. Both are written on node:net:
// the WebSocket and fetch APIs cannot pick a source address. WebSocket frames and HTTP
// requests are written by hand, exactly as given.

import net from 'node:net';
import { ScramClient } from '../integration/c2s/scram-client.ts';
import { clientFrame, OPCODE_CLOSE, OPCODE_TEXT, ServerFrameReader, upgradeToXmpp } from '../helpers/ws-frames.ts';

export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';

async function until(done: () => boolean, what: string, timeoutMs: number, wake: (fn: () => void) => void, seen: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out waiting for ${what}; received: ${seen().slice(0, 2000)}`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.min(left, 250));
      wake(() => { clearTimeout(t); resolve(); });
    });
  }
}

/** A WebSocket from a chosen address: text frames in and out, the close seen. */
export class SourcedWebSocket {
  readonly frames: string[] = [];
  closed = false;
  /** A close frame from the server arrived. */
  closeFrame = false;
  private readonly reader = new ServerFrameReader();
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: net.Socket) {}

  static async connect(port: number, from: string, path = '/ws-xmpp'): Promise<SourcedWebSocket> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => resolve(s));
      s.once('error', reject);
    });
    const first = await upgradeToXmpp(socket, path, `127.0.0.1:${port}`);
    const ws = new SourcedWebSocket(socket);
    socket.on('data', (d: Buffer) => ws.onData(d));
    socket.on('close', () => { ws.closed = true; ws.wake(); });
    socket.on('error', () => {});
    ws.onData(first);
    return ws;
  }


  get text(): string {
    return this.frames.join('');
  }

  /** Sends one text frame. */
  send(text: string): void {
    if (!this.closed) this.socket.write(clientFrame(OPCODE_TEXT, Buffer.from(text, 'utf8')));
  }

  /** Sends many text frames in one socket write (the server reads them in as few reads as it can). */
  sendMany(texts: readonly string[]): void {
    if (!this.closed) this.socket.write(Buffer.concat(texts.map((t) => clientFrame(OPCODE_TEXT, Buffer.from(t, 'utf8')))));
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 5000): Promise<string> {
    const test = () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text));
    await until(() => test() || this.closed, String(pattern), timeoutMs, (w) => this.waiters.push(w), () => this.text);
    if (!test()) throw new Error(`closed before ${pattern}; received: ${this.text.slice(0, 2000)}`);
    return this.text;
  }

  async waitForClose(timeoutMs = 5000): Promise<string> {
    await until(() => this.closed, 'close', timeoutMs, (w) => this.waiters.push(w), () => this.text);
    return this.text;
  }

  clear(): void {
    this.frames.length = 0;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    for (const { opcode, payload } of this.reader.push(chunk)) {
      if (opcode === OPCODE_TEXT) this.frames.push(payload.toString('utf8'));
      else if (opcode === OPCODE_CLOSE && !this.closeFrame) {
        // RFC 6455 §5.5.1: answer the close frame, then the TCP connection ends.
        this.closeFrame = true;
        this.socket.end(clientFrame(OPCODE_CLOSE, Buffer.from(payload)));
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** POSTs one body from `from` on a connection of its own; resolves with the response body. */
export function postFrom(port: number, from: string, body: string, path = '/http-bind'): Promise<string> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body, 'utf8');
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: from }, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/xml; charset=utf-8\r\n` +
        `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`);
      socket.write(payload);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no HTTP response: ${all.toString('latin1').slice(0, 200)}`));
      const head = all.subarray(0, end).toString('latin1');
      const rest = all.subarray(end + 4);
      resolve((/transfer-encoding:\s*chunked/i.test(head) ? unchunk(rest) : rest).toString('utf8'));
    });
  });
}

function unchunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** A BOSH session from one source address, each request on a connection of its own. */
export class SourcedBosh {
  sid = '';
  rid = 1000 + Math.floor(Math.random() * 100_000);

  constructor(readonly port: number, readonly from: string) {}

  /** Asks for a session; the reply (a terminate when refused). `sid` is set when one was created. */
  async create(wait = 1): Promise<string> {
    const reply = await postFrom(this.port, this.from,
      `<body rid='${this.rid}' to='localhost' xml:lang='en' wait='${wait}' hold='1' ver='1.11' xmpp:version='1.0' xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh'/>`);
    this.sid = /\ssid='([^']+)'/.exec(reply)?.[1] ?? '';
    return reply;
  }

  /** The next body of the session (its rid taken now) around `payload`. */
  body(payload = '', attrs = ''): string {
    return `<body rid='${++this.rid}' sid='${this.sid}' xmlns='${NS_HTTPBIND}'${attrs}>${payload}</body>`;
  }

  send(payload = '', attrs = ''): Promise<string> {
    return postFrom(this.port, this.from, this.body(payload, attrs));
  }


  terminate(): Promise<string> {
    return this.send('', " type='terminate'");
  }
}

/** The condition of a BOSH terminate body, and of the stream error inside it if any. */
export function terminateCondition(body: string): { condition: string | undefined; streamError: string | undefined } {
  return {
    condition: /\scondition='([^']+)'/.exec(body)?.[1],
    streamError: /<stream:error[^>]*>\s*<([a-z-]+) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/.exec(body)?.[1],
  };
}

/** The stream error condition in WebSocket frames or a TCP stream, if any. */
export function streamErrorOf(text: string): string | undefined {
  return /<stream:error[^>]*>\s*<([a-z-]+) xmlns='urn:ietf:params:xml:ns:xmpp-streams'/.exec(text)?.[1];
}

const scramAuth = (scram: ScramClient) => `<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${Buffer.from(scram.first()).toString('base64')}</auth>`;
const scramResponse = (scram: ScramClient, challenge: string) =>
  `<response xmlns='${NS_SASL}'>${Buffer.from(scram.final(Buffer.from(challenge, 'base64').toString())).toString('base64')}</response>`;

/**
 * One SCRAM-SHA-1 attempt over an open WebSocket stream (after <open/> and the features);
 * true when it succeeded.
 */
export async function wsScram(ws: SourcedWebSocket, user: string, password: string): Promise<boolean> {
  const scram = new ScramClient({ hash: 'SHA-1', username: user, password });
  ws.clear();
  ws.send(scramAuth(scram));
  await ws.waitFor(/<challenge|<failure|<stream:error/);
  const challenge = /<challenge[^>]*>([^<]*)<\/challenge>/.exec(ws.text)?.[1];
  if (challenge === undefined) return false;
  ws.clear();
  ws.send(scramResponse(scram, challenge));
  await ws.waitFor(/<success|<failure|<stream:error/);
  return ws.text.includes('<success');
}

/** Opens a client stream over the WebSocket and waits for the features. */
export async function wsOpen(ws: SourcedWebSocket): Promise<void> {
  ws.clear();
  ws.send(`<open xmlns='${NS_FRAMING}' to='localhost' version='1.0'/>`);
  await ws.waitFor('</stream:features>');
}

/** Logs in over the WebSocket and asks to bind `resource`; resolves with the bind answer. */
export async function wsLoginAndBind(ws: SourcedWebSocket, user: string, password: string, resource: string): Promise<string> {
  await wsOpen(ws);
  if (!(await wsScram(ws, user, password))) throw new Error(`login failed: ${ws.text}`);
  await wsOpen(ws);
  ws.clear();
  ws.send(`<iq type='set' id='bind' xmlns='jabber:client'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`);
  await ws.waitFor(/<iq [^>]*id='bind'/);
  return ws.text;
}

/**
 * Sends `payload` in the next body, then polls with empty bodies until a response matches
 * `pattern` or the session ends; resolves with the responses joined.
 */
export async function boshUntil(bosh: SourcedBosh, payload: string, pattern: RegExp, attrs = '', polls = 5): Promise<string> {
  let seen = await bosh.send(payload, attrs);
  for (let i = 0; i < polls && !pattern.test(seen) && !seen.includes("type='terminate'"); i++) seen += await bosh.send();
  return seen;
}

/** One SCRAM-SHA-1 attempt over a BOSH session (after creation); true when it succeeded. */
export async function boshScram(bosh: SourcedBosh, user: string, password: string): Promise<boolean> {
  const scram = new ScramClient({ hash: 'SHA-1', username: user, password });
  const first = await boshUntil(bosh, scramAuth(scram), /<challenge|<failure/);
  const challenge = /<challenge[^>]*>([^<]*)<\/challenge>/.exec(first)?.[1];
  if (challenge === undefined) return false;
  const final = await boshUntil(bosh, scramResponse(scram, challenge), /<success|<failure/);
  return final.includes('<success');
}

const RESTART = ` to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'`;

/** Creates a session, logs in, restarts and asks to bind `resource`; resolves with the bind answer. */
export async function boshLoginAndBind(bosh: SourcedBosh, user: string, password: string, resource: string): Promise<string> {
  await bosh.create();
  if (bosh.sid === '') throw new Error('no session');
  if (!(await boshScram(bosh, user, password))) throw new Error('login failed');
  await boshUntil(bosh, '', /<\/stream:features>/, RESTART);
  return boshUntil(bosh, `<iq type='set' id='bind' xmlns='jabber:client'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`, /<iq [^>]*id='bind'/);
}
