// Raw-socket helpers for stream management tests: log in (optionally stopping before bind
// to resume instead), enable SM, and read stanzas and SM elements off the wire.

import { expect } from 'bun:test';
import type { TestServer } from '../../helpers/test-server.ts';
import { authPlain, bind, connectTls, openStream, header, type Wire } from '../c2s/wire.ts';

export const NS_SM = 'urn:xmpp:sm:3';

export interface SmClient {
  wire: Wire;
  jid: string;
  /** The resumption id, when enabled with resume. */
  id: string | undefined;
  /** The <enabled/> element as received. */
  enabled: string;
}

/** STARTTLS, PLAIN, restart: an authenticated stream, not bound. Returns its features. */
export async function authenticated(ts: TestServer, user: string, password: string): Promise<{ wire: Wire; features: string }> {
  const { wire } = await connectTls(ts);
  await authPlain(wire, user, password);
  const features = await openStream(wire);
  wire.clear();
  return { wire, features };
}

/** Logs in, binds and enables SM (with resumption unless `resume` is false). */
export async function smLogin(ts: TestServer, user: string, password: string, resource: string, options: { resume?: boolean; max?: number; presence?: boolean } = {}): Promise<SmClient> {
  const { wire } = await authenticated(ts, user, password);
  const jid = await bind(wire, resource);
  const resume = options.resume ?? true;
  const max = options.max === undefined ? '' : ` max='${options.max}'`;
  wire.send(`<enable xmlns='${NS_SM}'${resume ? " resume='true'" : ''}${max}/>`);
  const enabled = await wire.take(/<enabled [^>]*\/>|<failed .*?<\/failed>/);
  expect(enabled[0]).toStartWith('<enabled ');
  const id = /id='([^']+)'/.exec(enabled[0])?.[1];
  if (options.presence) wire.send('<presence/>');
  return { wire, jid, id, enabled: enabled[0] };
}

/** Sends the resume request on a fresh authenticated stream; returns the wire and the answer. */
export async function resume(ts: TestServer, user: string, password: string, previd: string, h: number, after = ''): Promise<{ wire: Wire; answer: string }> {
  const { wire } = await connectTls(ts);
  await authPlain(wire, user, password);
  wire.clear();
  // Pipelined: the restart, the resume and whatever follows in one write.
  wire.send(header() + `<resume xmlns='${NS_SM}' previd='${previd}' h='${h}'/>` + after);
  const m = await wire.waitFor(/<resumed [^>]*\/>|<failed .*?<\/failed>/s);
  const answer = /<resumed [^>]*\/>|<failed .*?<\/failed>/s.exec(m)![0];
  return { wire, answer };
}

/** Bodies of the messages received so far, in order. */
export function bodies(text: string): string[] {
  return [...text.matchAll(/<message[^>]*>.*?<body>([^<]*)<\/body>.*?<\/message>/gs)].map((m) => m[1]!);
}

/** Waits until `n` message bodies have arrived; returns them. */
export async function waitForBodies(wire: Wire, n: number, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = bodies(wire.text);
    if (got.length >= n) return got;
    if (Date.now() > deadline) throw new Error(`expected ${n} messages, got ${got.length}: ${wire.text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Sends `n` numbered chat messages; returns their bodies. */
export function sendNumbered(wire: Wire, to: string, prefix: string, from: number, n: number): string[] {
  const sent: string[] = [];
  let batch = '';
  for (let i = from; i < from + n; i++) {
    const body = `${prefix}-${i}`;
    sent.push(body);
    batch += `<message type='chat' to='${to}' id='${body}'><body>${body}</body></message>`;
  }
  wire.send(batch);
  return sent;
}
