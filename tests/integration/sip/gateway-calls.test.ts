// The gateway's call rules with an in-memory XMPP side and SIP peer under a manual clock:
// who may act on a call, late resources fetching an invitation, trickle ICE to INFO,
// bad input answered with bad-request, and no call state left after a call or a timeout.

import { describe, expect, test } from 'bun:test';
import { Gateway } from '../../../modules/mod_jingle_sip/gateway.ts';
import { SipStack } from '../../../modules/mod_jingle_sip/sip/transactions.ts';
import { ManualTimers } from '../../../modules/mod_jingle_sip/sip/timers.ts';
import { NS_ICE_UDP, NS_JINGLE, NS_RTP } from '../../../modules/mod_jingle_sip/sdp/jingle-ns.ts';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid, type Jid } from '../../../server/jid.ts';
import { xml, type Element } from '../../../server/xml/element.ts';
import { Logger } from '../../../server/log.ts';

const enc = new TextEncoder();
const PHONE = { address: '127.0.0.1', port: 5099 };

function harness() {
  const timers = new ManualTimers();
  const toXmpp: Element[] = [];
  const toSip: string[] = [];
  const online = new Map<string, Jid[]>();
  const gateway = new Gateway({
    host: 'localhost', gatewayDomain: 'sip.localhost', proxy: PHONE, proxyHost: '127.0.0.1',
    local: { host: '127.0.0.1', port: 5600, transport: 'UDP' }, sdpOrigin: '127.0.0.1', usernameToPhone: {},
    callTimeoutMs: 30_000, maxCalls: 10, timers, logger: new Logger(),
  }, {
    send: (el) => toXmpp.push(el),
    availableResources: (bare) => online.get(bare.toString()) ?? [],
  });
  const stack = new SipStack({ send: (d) => toSip.push(d), reliable: false, timers, onRequest: (r, tx, p) => gateway.handleSipRequest(r, tx, p) });
  gateway.attach(stack);
  const fromXmpp = (from: string, to: string, action: string, sid: string, ...children: Element[]): Element => {
    const iq = xml('iq', { type: 'set', id: `q${Math.random()}`, from, to }, xml('jingle', { xmlns: NS_JINGLE, action, sid }, ...children));
    gateway.handleStanza(Packet.fromElement(iq));
    return toXmpp.find((r) => r.attrs.id === iq.attrs.id)!;
  };
  const fromSip = (text: string) => stack.receive(enc.encode(text), PHONE, (d) => toSip.push(d));
  return { timers, toXmpp, toSip, online, gateway, stack, fromXmpp, fromSip };
}

const content = (ip = '192.0.2.1'): Element => xml('content', { creator: 'initiator', name: 'audio' },
  xml('description', { xmlns: NS_RTP, media: 'audio' }, xml('payload-type', { id: '0', name: 'PCMU', clockrate: '8000' })),
  xml('transport', { xmlns: NS_ICE_UDP, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuvwx' },
    xml('candidate', { component: '1', foundation: '1', ip, port: '4000', priority: '1', protocol: 'udp', type: 'host' })));

const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
const invite = (callId: string, user = 'alice') =>
  `INVITE sip:${user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK${callId}\r\nFrom: <sip:+4811@127.0.0.1>;tag=p1\r\nTo: <sip:${user}@127.0.0.1>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\nContact: <sip:+4811@127.0.0.1:5099>\r\nContent-Type: application/sdp\r\nContent-Length: ${SDP.length}\r\n\r\n${SDP}`;
const errorCondition = (iq: Element): string | undefined => iq.getChild('error')?.elements[0]?.localName;
const jingleTo = (out: Element[], to: string, action: string) => out.filter((s) => s.attrs.to === to && s.getChild('jingle', NS_JINGLE)?.attrs.action === action);

describe('Jingle → SIP', () => {
  test('session-initiate: IQ result, then an INVITE with Call-ID = sid', async () => {
    const h = harness();
    expect(h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'call-A', content()).attrs.type).toBe('result');
    await Promise.resolve();
    expect(h.toSip[0]).toStartWith('INVITE sip:+4899@127.0.0.1:5099 SIP/2.0\r\n');
    expect(h.toSip[0]).toContain('Call-ID: call-A\r\n');
    expect(h.toSip[0]).toContain('m=audio 4000');
  });

  test('CRLF injection, bad ports and bad sids are bad-request, and nothing reaches SIP', async () => {
    const h = harness();
    expect(errorCondition(h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'c1', content('1.2.3.4\r\nBYE sip:x SIP/2.0')))).toBe('bad-request');
    const badPort = content();
    badPort.getChild('transport', NS_ICE_UDP)!.getChild('candidate')!.attrs.port = '65536';
    expect(errorCondition(h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'c2', badPort))).toBe('bad-request');
    expect(errorCondition(h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'c 3\r\nX: y', content()))).toBe('bad-request');
    expect(errorCondition(h.fromXmpp('alice@localhost/a', 'evil%0D%0Abye@sip.localhost', 'session-initiate', 'c4', content()))).toBe('bad-request');
    await Promise.resolve();
    expect(h.toSip).toEqual([]);
    expect(h.gateway.calls.size).toBe(0);
  });

  test('only the caller may act on its call: others get item-not-found', () => {
    const h = harness();
    h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'call-B', content());
    expect(errorCondition(h.fromXmpp('mallory@localhost/m', '+4899@sip.localhost', 'session-terminate', 'call-B'))).toBe('item-not-found');
    expect(errorCondition(h.fromXmpp('alice@localhost/other', '+4899@sip.localhost', 'session-terminate', 'call-B'))).toBe('item-not-found');
    expect(h.gateway.calls.size).toBe(1);
  });

  test('an unanswered call is given up after the call timeout and leaves no state', async () => {
    const h = harness();
    h.fromXmpp('alice@localhost/a', '+4899@sip.localhost', 'session-initiate', 'call-C', content());
    await Promise.resolve();
    h.timers.advance(40_000);
    expect(h.gateway.calls.size).toBe(0);
    expect(jingleTo(h.toXmpp, 'alice@localhost/a', 'session-terminate').length).toBe(1);
    h.timers.advance(100_000);
    expect(h.stack.transactionCount).toBe(0);
  });
});

describe('SIP → Jingle', () => {
  test('existing-session-initiate lets a late resource fetch the invitation; strangers get item-not-found', () => {
    const h = harness();
    h.online.set('alice@localhost', [parseJid('alice@localhost/desk')]);
    h.fromSip(invite('in-1'));
    expect(jingleTo(h.toXmpp, 'alice@localhost/desk', 'session-initiate').length).toBe(1);
    expect(h.toSip.some((s) => s.startsWith('SIP/2.0 180 Ringing'))).toBe(true);
    expect(errorCondition(h.fromXmpp('bob@localhost/x', '+4811@sip.localhost', 'existing-session-initiate', 'in-1'))).toBe('item-not-found');
    expect(h.fromXmpp('alice@localhost/mobile', '+4811@sip.localhost', 'existing-session-initiate', 'in-1').attrs.type).toBe('result');
    return Promise.resolve().then(() => {
      expect(jingleTo(h.toXmpp, 'alice@localhost/mobile', 'session-initiate').length).toBe(1);
      // The late resource may now answer.
      expect(h.fromXmpp('alice@localhost/mobile', '+4811@sip.localhost', 'session-accept', 'in-1', content()).attrs.type).toBe('result');
      expect(h.toSip.some((s) => s.startsWith('SIP/2.0 200 OK') && s.includes('application/sdp'))).toBe(true);
      expect(jingleTo(h.toXmpp, 'alice@localhost/desk', 'session-terminate').length).toBe(1);
      expect(errorCondition(h.fromXmpp('alice@localhost/desk', '+4811@sip.localhost', 'session-terminate', 'in-1'))).toBe('item-not-found');
    });
  });

  test('an answered call whose ACK never comes is ended with BYE and forgotten', () => {
    const h = harness();
    h.online.set('alice@localhost', [parseJid('alice@localhost/desk')]);
    h.fromSip(invite('in-2'));
    h.fromXmpp('alice@localhost/desk', '+4811@sip.localhost', 'session-accept', 'in-2', content());
    h.timers.advance(33_000);
    expect(h.toSip.some((s) => s.startsWith('BYE '))).toBe(true);
    expect(h.gateway.calls.size).toBe(0);
    expect(jingleTo(h.toXmpp, 'alice@localhost/desk', 'session-terminate').length).toBe(1);
  });

  test('a ringing call nobody answers: 480 at the call timeout, resources told, no state left', () => {
    const h = harness();
    h.online.set('alice@localhost', [parseJid('alice@localhost/desk')]);
    h.fromSip(invite('in-3'));
    h.timers.advance(31_000);
    expect(h.toSip.some((s) => s.startsWith('SIP/2.0 480'))).toBe(true);
    expect(h.gateway.calls.size).toBe(0);
    h.timers.advance(100_000);
    expect(h.stack.transactionCount).toBe(0);
  });

  test('an INVITE with hostile SDP is refused with 488 and rings nobody', () => {
    const h = harness();
    h.online.set('alice@localhost', [parseJid('alice@localhost/desk')]);
    h.fromSip(invite('in-4').replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:0 PC\x01U/8000'));
    expect(h.toSip.some((s) => s.startsWith('SIP/2.0 488'))).toBe(true);
    expect(h.toXmpp.length).toBe(0);
  });

  test('transport-info in an answered call becomes a trickle-ICE INFO', () => {
    const h = harness();
    h.online.set('alice@localhost', [parseJid('alice@localhost/desk')]);
    h.fromSip(invite('in-5'));
    h.fromXmpp('alice@localhost/desk', '+4811@sip.localhost', 'session-accept', 'in-5', content());
    expect(h.fromXmpp('alice@localhost/desk', '+4811@sip.localhost', 'transport-info', 'in-5', content('192.0.2.77')).attrs.type).toBe('result');
    const info = h.toSip.find((s) => s.startsWith('INFO '));
    expect(info).toContain('Content-Type: application/trickle-ice-sdpfrag');
    expect(info).toContain('a=candidate:1 1 udp 1 192.0.2.77 4000 typ host');
  });
});
