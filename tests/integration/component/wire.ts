// Raw sockets for component tests: a component that opens its stream and shakes hands by
// hand (exact bytes), and a logged-in user (STARTTLS, PLAIN, bind) to talk to it.

import { createHash } from 'node:crypto';
import { expect } from 'bun:test';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import type { TestServer } from '../../helpers/test-server.ts';

export const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

export const componentHeader = (to: string | undefined, extra = '', ns = 'jabber:component:accept') =>
  `<?xml version='1.0'?><stream:stream xmlns='${ns}' xmlns:stream='http://etherx.jabber.org/streams'${to === undefined ? '' : ` to='${to}'`}${extra}>`;

export function digest(id: string, secret: string): string {
  return createHash('sha1').update(id + secret).digest('hex');
}

/** Opens a component stream and waits for the server's header; returns the stream id. */
export async function openComponent(port: number, to: string | undefined, extra = ''): Promise<{ c: RawClient; id: string; header: string }> {
  const c = await RawClient.connect(port);
  c.send(componentHeader(to, extra));
  const text = await c.waitFor(/<stream:stream [^>]*>/);
  const header = /<stream:stream [^>]*>/.exec(text)![0];
  const id = /\bid='([^']*)'/.exec(header)![1];
  return { c, id, header };
}

/** A component connected and authenticated; its buffer is cleared. */
export async function connectComponent(port: number, to: string, secret: string, extra = ''): Promise<RawClient> {
  const { c, id } = await openComponent(port, to, extra);
  c.send(`<handshake>${digest(id, secret)}</handshake>`);
  await c.waitFor('<handshake/>');
  c.clear();
  return c;
}

/** Waits for the close and checks it came with exactly this stream error condition. */
export async function expectStreamError(c: RawClient, condition: string): Promise<string> {
  const text = await c.waitForClose();
  const m = /<stream:error>(.*?)<\/stream:error>/s.exec(text);
  expect(m, `no stream error in: ${text}`).not.toBeNull();
  expect(m![1]).toMatch(new RegExp(`^<${condition} xmlns='${NS_STREAMS}'/>`));
  expect(text.endsWith('</stream:stream>')).toBe(true);
  return text;
}

/** A user session: STARTTLS, SASL PLAIN, bind, initial presence. Buffer cleared. */
export async function loginUser(ts: TestServer, user: string, password: string, resource: string): Promise<RawClient> {
  const c = await RawClient.connect(ts.c2sPort);
  c.send(STREAM_OPEN());
  await c.waitFor('</stream:features>');
  c.send(`<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
  await c.waitFor('<proceed');
  await c.startTls(ts.ca);
  c.send(STREAM_OPEN());
  await c.waitFor('</stream:features>');
  c.clear();
  const plain = Buffer.from(`\0${user}\0${password}`).toString('base64');
  c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`);
  await c.waitFor('<success');
  c.clear();
  c.send(STREAM_OPEN());
  await c.waitFor('</stream:features>');
  c.clear();
  c.send(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
  await c.waitFor('</iq>');
  c.send('<presence/>');
  // Our own presence comes back only with a roster module; give the server a moment to process it.
  await new Promise((r) => setTimeout(r, 30));
  c.clear();
  return c;
}

/** Waits for one complete top-level element matching `start` (e.g. /<iq [^>]*id='q1'/) and returns it. */
export async function waitForElement(c: RawClient, start: RegExp): Promise<string> {
  const re = new RegExp(`(${start.source})[^>]*?(/>|>.*?</(iq|message|presence)>)`, 's');
  const text = await c.waitFor(re);
  return re.exec(text)![0];
}

export async function quiet(c: RawClient, ms = 150): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(c.received).toBe('');
}
