// BOSH client (XEP-0124/0206) over two keep-alive HTTP/1.1 connections, like browsers'
// two-request pattern: while idle one request is held by the server; a stanza to send goes
// out on the other connection at once (the server then answers the held one).

import { Http1Connection } from '../http1.ts';
import { ElementReader } from '../elements.ts';
import type { Endpoint, Transport } from '../transport.ts';

const BOSH = 'http://jabber.org/protocol/httpbind';
const XBOSH = 'urn:xmpp:xbosh';

export class BoshTransport implements Transport {
  readonly name = 'bosh' as const;
  onElement: (xml: string) => void = () => {};
  private readonly connections: Http1Connection[];
  private readonly reader = new ElementReader((xml) => this.onElement(xml));
  private sid = '';
  private rid = 1 + Math.floor(Math.random() * 2 ** 40);
  private queue: string[] = [];
  private restartDue = false;
  private ended = false;
  private terminated: (() => void) | undefined;
  /** Responses received (each request gets exactly one). */
  responses = 0;

  constructor(private readonly endpoint: Endpoint, private readonly wait = 60) {
    this.connections = [new Http1Connection(endpoint.host, endpoint.httpPort), new Http1Connection(endpoint.host, endpoint.httpPort)];
  }

  /** The session is live and the server holds one of our requests. */
  get holding(): boolean {
    return !this.ended && this.connections.filter((c) => c.busy).length === 1;
  }

  async open(): Promise<void> {
    const body = `<body xmlns='${BOSH}' xmlns:xmpp='${XBOSH}' rid='${this.rid++}' to='localhost' wait='${this.wait}' hold='1' ver='1.11' xmpp:version='1.0'/>`;
    const reply = await this.connections[0]!.post('/http-bind', body);
    this.receive(reply);
    this.sid = /\bsid='([^']+)'/.exec(reply)?.[1] ?? '';
    if (this.sid === '') throw new Error(`bosh: no sid in ${reply.slice(0, 200)}`);
    this.pump();
  }

  restart(): void {
    this.restartDue = true;
    this.pump();
  }

  send(xml: string): void {
    this.queue.push(xml);
    this.pump();
  }

  async close(): Promise<void> {
    if (this.ended) return;
    const done = new Promise<void>((resolve) => (this.terminated = resolve));
    this.ended = true;
    const conn = this.connections.find((c) => !c.busy) ?? new Http1Connection(this.endpoint.host, this.endpoint.httpPort);
    conn.post('/http-bind', `<body xmlns='${BOSH}' sid='${this.sid}' rid='${this.rid++}' type='terminate'/>`).then(
      (r) => this.receive(r),
      () => this.terminated?.(),
    );
    await done;
    for (const c of this.connections) c.close();
    this.reader.free();
  }

  private pump(): void {
    if (this.ended || this.sid === '') return;
    const free = this.connections.find((c) => !c.busy);
    if (free === undefined) return;
    const outstanding = this.connections.filter((c) => c.busy).length;
    let body: string;
    if (this.restartDue) {
      this.restartDue = false;
      body = `<body xmlns='${BOSH}' xmlns:xmpp='${XBOSH}' sid='${this.sid}' rid='${this.rid++}' to='localhost' xmpp:restart='true'/>`;
    } else if (this.queue.length > 0) {
      body = `<body xmlns='${BOSH}' sid='${this.sid}' rid='${this.rid++}'>${this.queue.join('')}</body>`;
      this.queue = [];
    } else if (outstanding === 0) {
      body = `<body xmlns='${BOSH}' sid='${this.sid}' rid='${this.rid++}'/>`;
    } else {
      return;
    }
    free.post('/http-bind', body).then(
      (reply) => {
        this.receive(reply);
        this.pump();
      },
      (err: Error) => {
        if (!this.ended) throw err;
      },
    );
  }

  private receive(reply: string): void {
    this.responses++;
    this.reader.reset();
    this.reader.feed(new TextEncoder().encode(reply));
    if (this.reader.header?.attr('type') === 'terminate') {
      this.ended = true;
      this.terminated?.();
    }
  }
}
