// The bytes the routing benchmark puts on the wire, shared by the load client and the
// plain relay so both targets see exactly the same conversation.
//
// Accounts come in pairs: sender s<i> writes to receiver r<i>, both bound to resource
// "bench". The message body carries the sequence number and the send time, so the
// receiver measures latency and order without any per-message state in the sender.

export const RESOURCE = 'bench';
export const PASSWORD = 'bench-password';

export const NS_CLIENT = 'jabber:client';
export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_PING = 'urn:xmpp:ping';

export const senderName = (pair: number): string => `s${pair}`;
export const receiverName = (pair: number): string => `r${pair}`;

/** The partner of an account name (s7 ↔ r7); undefined for a name outside the scheme. */
export function partnerName(user: string): string | undefined {
  const m = /^([sr])(\d+)$/.exec(user);
  if (!m) return undefined;
  return (m[1] === 's' ? 'r' : 's') + m[2];
}

export function streamOpen(domain: string): string {
  return `<?xml version='1.0'?><stream:stream to='${domain}' version='1.0' xml:lang='en' xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}'>`;
}

export function plainAuth(user: string, password: string): string {
  const payload = Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
  return `<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${payload}</auth>`;
}

export function bindRequest(resource: string): string {
  return `<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${resource}</resource></bind></iq>`;
}

/**
 * Initial presence followed by a ping to the server: stanzas on one stream are handled in
 * order, so the ping's answer proves the presence was processed before the flood starts.
 */
export function presenceAndPing(domain: string): string {
  return `<presence/><iq type='get' id='sync1' to='${domain}'><ping xmlns='${NS_PING}'/></iq>`;
}

export const STREAM_CLOSE = '</stream:stream>';

// Body layout: "<seq> <sendTimeMs> <padding>", padded to BODY_BYTES characters.
const BODY_BYTES = 100;
const PADDING = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore';

export function chatMessage(to: string, seq: number, sentAt: number): string {
  const head = `${seq} ${sentAt.toFixed(3)} `;
  const body = head + PADDING.slice(0, Math.max(0, BODY_BYTES - head.length));
  return `<message type='chat' to='${to}' id='m${seq}'><body>${body}</body></message>`;
}

export interface BodyFields {
  seq: number;
  sentAt: number;
}

/** Reads the sequence number and send time back out of a body produced by chatMessage. */
export function parseBody(body: string): BodyFields | undefined {
  const a = body.indexOf(' ');
  const b = a < 0 ? -1 : body.indexOf(' ', a + 1);
  if (b < 0) return undefined;
  const seq = Number(body.slice(0, a));
  const sentAt = Number(body.slice(a + 1, b));
  if (!Number.isInteger(seq) || !Number.isFinite(sentAt)) return undefined;
  return { seq, sentAt };
}

export type Mechanism = 'PLAIN' | 'SCRAM-SHA-1';

export function scramAuth(initialResponse: string): string {
  return `<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${initialResponse}</auth>`;
}

export function saslResponse(base64: string): string {
  return base64 === '' ? `<response xmlns='${NS_SASL}'/>` : `<response xmlns='${NS_SASL}'>${base64}</response>`;
}

/** XEP-0077 in-band registration of a new account, sent before authenticating. */
export function registerRequest(user: string, password: string): string {
  return `<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`;
}

