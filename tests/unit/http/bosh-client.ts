// A tiny BOSH client over Hono's app.request(), for tests that speak the protocol by hand.

import type { FakeServer } from './fake-server.ts';
import { HOST } from './fake-server.ts';

export const NS_HTTPBIND = 'http://jabber.org/protocol/httpbind';
const BODY_NS = `xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh'`;

export interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

export async function postRaw(server: FakeServer, xml: string, headers: Record<string, string> = {}, path = '/http-bind'): Promise<Reply> {
  const res = await server.http.app.request(path, { method: 'POST', body: xml, headers: { 'Content-Type': 'text/xml; charset=utf-8', ...headers } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The value of an attribute of the response <body/>. */
export function bodyAttr(xml: string, name: string): string | undefined {
  const start = xml.slice(0, xml.indexOf('>') + 1);
  const m = new RegExp(`\\s${name.replace(':', '\\:')}='([^']*)'`).exec(start);
  return m?.[1];
}

export function creationBody(rid: number, extra = ''): string {
  return `<body rid='${rid}' to='${HOST}' xml:lang='en' wait='60' hold='1' ver='1.11' xmpp:version='1.0' ${BODY_NS}${extra ? ' ' + extra : ''}/>`;
}

export class BoshTestClient {
  sid = '';
  rid: number;

  constructor(readonly server: FakeServer, firstRid = 4000) {
    this.rid = firstRid;
  }

  async create(extra = ''): Promise<Reply> {
    const reply = await postRaw(this.server, creationBody(this.rid, extra));
    this.sid = bodyAttr(reply.text, 'sid') ?? '';
    return reply;
  }

  /** Builds a body with the next rid (not sent). */
  body(payload = '', attrs = ''): { rid: number; xml: string } {
    const rid = ++this.rid;
    const open = `<body rid='${rid}' sid='${this.sid}' ${BODY_NS}${attrs ? ' ' + attrs : ''}`;
    return { rid, xml: payload === '' ? `${open}/>` : `${open}>${payload}</body>` };
  }

  send(payload = '', attrs = ''): Promise<Reply> {
    return postRaw(this.server, this.body(payload, attrs).xml);
  }

  /** Creates a session, authenticates with PLAIN, restarts and binds `resource`. */
  async login(user: string, resource: string): Promise<void> {
    await this.create();
    const auth = await this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${btoa(`\0${user}\0secret`)}</auth>`);
    if (!auth.text.includes('<success')) throw new Error(`login failed: ${auth.text}`);
    await this.send('', `to='${HOST}' xml:lang='en' xmpp:restart='true'`);
    const bind = await this.send(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    if (!bind.text.includes('<jid>')) throw new Error(`bind failed: ${bind.text}`);
  }
}
