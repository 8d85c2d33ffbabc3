// XMPP over BOSH (XEP-0124, XEP-0206) as a text transport for the load generator's XMPP
// client: what the client writes is queued and sent in the next request, what the server
// answers is handed back as text. A stream header written by the client becomes the
// session request (first time) or a restart request (after SASL), and the stream close
// a terminate request. Two requests at most are out at once; one is always held by the
// server so it can push stanzas.

import type { TextConnection, TextListener } from '../route/connection.ts';
import { HttpChannel } from './http-channel.ts';

const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
const NS_XBOSH = 'urn:xmpp:xbosh';
const WAIT_SECONDS = 30;

interface Outgoing {
  payload: string;
  /** Extra attributes of <body/> (restart, terminate): sent alone. */
  attrs?: string;
}

export interface BoshOptions {
  host: string;
  port: number;
  path: string;
  domain: string;
}

export class BoshConnection implements TextConnection {
  private readonly channels: HttpChannel[];
  private sid: string | undefined;
  private rid = Math.floor(Math.random() * 1e9) + 1000;
  private queue: Outgoing[] = [];
  private outstanding = 0;
  private requests = 2;
  private listener: TextListener = () => {};
  private creating = false;
  private terminating = false;
  closed = false;
  error: Error | undefined;

  private constructor(private readonly o: BoshOptions, channels: HttpChannel[]) {
    this.channels = channels;
  }

  static async open(o: BoshOptions): Promise<BoshConnection> {
    const channels = await Promise.all([HttpChannel.open(o.host, o.port), HttpChannel.open(o.host, o.port)]);
    return new BoshConnection(o, channels);
  }

  onText(listener: TextListener): void {
    this.listener = listener;
  }

  write(text: string): void {
    if (this.closed) return;
    if (text.includes('<stream:stream')) {
      if (this.sid === undefined) this.create();
      else this.queue.push({ payload: '', attrs: ` to='${this.o.domain}' xml:lang='en' xmpp:restart='true' xmlns:xmpp='${NS_XBOSH}'` });
    } else if (text === '</stream:stream>') {
      if (this.terminating) return;
      this.terminating = true;
      this.queue.push({ payload: '', attrs: ` type='terminate'` });
    } else {
      // Stanzas inside <body/> are in the httpbind namespace unless they say otherwise.
      this.queue.push({ payload: text.replace(/<(message|presence|iq)\b(?![^>]*\sxmlns=)/g, "<$1 xmlns='jabber:client'") });
    }
    this.pump();
  }

  private create(): void {
    this.creating = true;
    const body = `<body content='text/xml; charset=utf-8' hold='1' rid='${this.rid++}' to='${this.o.domain}' ver='1.6' wait='${WAIT_SECONDS}' xml:lang='en' xmpp:version='1.0' xmlns='${NS_HTTPBIND}' xmlns:xmpp='${NS_XBOSH}'/>`;
    this.outstanding++;
    this.channels[0]!.post(this.o.path, body).then(
      (answer) => {
        this.outstanding--;
        this.creating = false;
        this.sid = /\ssid=['"]([^'"]+)['"]/.exec(answer)?.[1];
        const requests = Number(/\srequests=['"](\d+)['"]/.exec(answer)?.[1] ?? '2');
        this.requests = Math.max(1, Math.min(2, requests));
        if (this.sid === undefined) {
          this.fail(new Error(`no sid in session answer: ${answer.slice(0, 300)}`));
          return;
        }
        this.receive(answer);
        this.pump();
      },
      (err: Error) => this.fail(err),
    );
  }

  private pump(): void {
    if (this.closed || this.creating || this.sid === undefined) return;
    while (this.outstanding < this.requests && (this.queue.length > 0 || this.outstanding === 0)) {
      const channel = this.channels.find((c) => !c.busy);
      if (channel === undefined) return;
      let attrs = '';
      let payload = '';
      if (this.queue.length > 0 && this.queue[0]!.attrs !== undefined) {
        const first = this.queue.shift()!;
        attrs = first.attrs!;
        payload = first.payload;
      } else {
        while (this.queue.length > 0 && this.queue[0]!.attrs === undefined) payload += this.queue.shift()!.payload;
      }
      this.outstanding++;
      const terminate = attrs.includes("type='terminate'");
      channel.post(this.o.path, `<body rid='${this.rid++}' sid='${this.sid}' xmlns='${NS_HTTPBIND}'${attrs}>${payload}</body>`).then(
        (answer) => {
          this.outstanding--;
          this.receive(answer);
          if (terminate) this.finish();
          else this.pump();
        },
        (err: Error) => this.fail(err),
      );
    }
  }

  private receive(answer: string): void {
    const start = answer.indexOf('<body');
    const open = answer.indexOf('>', start);
    if (start < 0 || open < 0) {
      this.fail(new Error(`not a BOSH body: ${answer.slice(0, 300)}`));
      return;
    }
    if (/\stype=['"]terminate['"]/.test(answer.slice(start, open))) {
      if (answer[open - 1] !== '/') this.listener(answer.slice(open + 1, answer.lastIndexOf('</body>')));
      this.finish();
      return;
    }
    if (answer[open - 1] === '/') return;
    const inner = answer.slice(open + 1, answer.lastIndexOf('</body>'));
    if (inner !== '') this.listener(inner);
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.error = err;
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.channels) c.close();
  }

  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.sid !== undefined) {
      const deadline = Date.now() + timeoutMs;
      this.write('</stream:stream>');
      while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    this.finish();
  }
}
