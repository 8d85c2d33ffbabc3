// The SIP parser on well-formed messages and on RFC 4475 torture cases: malformed input
// is refused with a reason (and a 400 where an answer can be built), never a throw.

import { describe, expect, test } from 'bun:test';
import { getHeader, getVias, parseMessage, parseNameAddr, responseTo, serializeMessage, type SipRequest } from '../../../modules/mod_jingle_sip/sip/message.ts';
import { SipStreamFramer } from '../../../modules/mod_jingle_sip/sip/framing.ts';

const enc = new TextEncoder();
const msg = (lines: string[], body = ''): Uint8Array => enc.encode(lines.join('\r\n') + '\r\n\r\n' + body);

const INVITE = [
  'INVITE sip:alice@gw.example SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Alice <sip:alice@gw.example>',
  'From: "Bob" <sip:bob@192.0.2.1>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.1>',
  'Content-Type: application/sdp',
];

describe('parseMessage', () => {
  test('a plain INVITE with a body cut at Content-Length', () => {
    const r = parseMessage(msg([...INVITE, 'Content-Length: 4'], 'v=0\r\nEXTRA'));
    expect(r.ok).toBe(true);
    if (!r.ok || r.message.kind !== 'request') throw new Error('expected a request');
    expect(r.message.method).toBe('INVITE');
    expect(r.message.body).toBe('v=0\r');
    expect(getVias(r.message)[0]!.params.get('branch')).toBe('z9hG4bK776asdhds');
  });

  test('compact header names and folded lines (RFC 4475 §3.1.1.1 style)', () => {
    const r = parseMessage(msg([
      'OPTIONS sip:alice@gw.example SIP/2.0',
      'v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1',
      'f: <sip:bob@192.0.2.1>',
      '  ;tag=abc',
      't: <sip:alice@gw.example>',
      'i: call1',
      'CSeq: 1',
      '   OPTIONS',
      'l: 0',
    ]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(parseNameAddr(getHeader(r.message, 'from')!)!.params.get('tag')).toBe('abc');
    expect(getHeader(r.message, 'cseq')).toBe('1 OPTIONS');
  });

  const torture: Array<[string, string[], string?]> = [
    ['two From headers (RFC 4475 §3.1.2.19 kin)', [...INVITE, 'From: <sip:eve@192.0.2.9>;tag=2', 'Content-Length: 0']],
    ['two Call-IDs', [...INVITE, 'Call-ID: other', 'Content-Length: 0']],
    ['no CSeq', INVITE.filter((l) => !l.startsWith('CSeq')).concat('Content-Length: 0')],
    ['CSeq method mismatch (§3.1.2.14)', INVITE.map((l) => (l.startsWith('CSeq') ? 'CSeq: 1 ACK' : l)).concat('Content-Length: 0')],
    ['negative Content-Length (§3.1.2.5)', [...INVITE, 'Content-Length: -999']],
    ['Content-Length larger than the body (§3.1.2.4)', [...INVITE, 'Content-Length: 9999'], 'v=0'],
    ['out of range Max-Forwards (§3.1.2.1)', [...INVITE.filter((l) => !l.startsWith('Max-Forwards')), 'Max-Forwards: 300', 'Content-Length: 0']],
    ['CSeq out of range (§3.1.2.6)', INVITE.map((l) => (l.startsWith('CSeq') ? 'CSeq: 36893488147419103232 INVITE' : l)).concat('Content-Length: 0')],
    ['unterminated quoted display name (§3.1.2.7)', INVITE.map((l) => (l.startsWith('From') ? 'From: "Bob <sip:bob@192.0.2.1>;tag=1' : l)).concat('Content-Length: 0')],
    ['Request-URI with spaces (§3.1.2.11)', ['INVITE sip:alice@gw.example ;lr SIP/2.0', ...INVITE.slice(1), 'Content-Length: 0']],
    ['no Via', INVITE.filter((l) => !l.startsWith('Via')).concat('Content-Length: 0')],
  ];
  for (const [name, lines, body] of torture) {
    test(`refused with 400: ${name}`, () => {
      const r = parseMessage(msg(lines, body ?? ''));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.status).toBe(400);
    });
  }

  test('unknown SIP version → 505 (§3.3.15), unknown scheme → 416 (§3.3.1)', () => {
    const v = parseMessage(msg(['INVITE sip:alice@gw.example SIP/7.0', ...INVITE.slice(1), 'Content-Length: 0']));
    expect(!v.ok && v.status).toBe(505);
    const s = parseMessage(msg(['INVITE nobodyknowsthisscheme:totallyopaquecontent SIP/2.0', ...INVITE.slice(1), 'Content-Length: 0']));
    expect(!s.ok && s.status).toBe(416);
  });

  test('a 400 can be built from a refused request, with one From even if it had two', () => {
    const r = parseMessage(msg([...INVITE, 'From: <sip:eve@192.0.2.9>;tag=2', 'Content-Length: 0']));
    if (r.ok || !r.partial) throw new Error('expected a partial request');
    const text = serializeMessage(responseTo(r.partial, 400, 'Bad Request'));
    expect(text.startsWith('SIP/2.0 400 Bad Request\r\n')).toBe(true);
    expect(text.match(/^From:/gm)!.length).toBe(1);
  });

  test('huge and hostile inputs never throw', () => {
    const inputs = [
      new Uint8Array(70_000).fill(65),
      msg([...INVITE, ...Array.from({ length: 200 }, (_, i) => `X-H${i}: v`)]),
      msg([...INVITE, `Subject: ${'a'.repeat(9000)}`]),
      msg(['INVITE sip:a@b SIP/2.0', 'Via: SIP/2.0/UDP host:99999;branch=z9hG4bK1', ...INVITE.slice(2), 'Content-Length: 0']),
      enc.encode('\r\n\r\n'),
      enc.encode('INVITE\0 sip:a@b SIP/2.0\r\n\r\n'),
      msg([' leading continuation', ...INVITE]),
      new Uint8Array(0),
    ];
    for (const bytes of inputs) expect(parseMessage(bytes).ok).toBe(false);
  });

  test('serializing refuses a header value with CRLF (no header injection)', () => {
    const req: SipRequest = { kind: 'request', method: 'BYE', uri: 'sip:a@b', headers: [{ name: 'subject', value: 'x\r\nVia: evil' }], body: '' };
    expect(() => serializeMessage(req)).toThrow();
  });
});

describe('SipStreamFramer', () => {
  test('splits a stream on Content-Length, across chunks, skipping keep-alive CRLFs', () => {
    const one = msg([...INVITE, 'Content-Length: 3'], 'abc');
    const framer = new SipStreamFramer();
    const both = new Uint8Array([13, 10, 13, 10, ...one, ...one]);
    expect(framer.push(both.subarray(0, 50)).frames.length).toBe(0);
    const { frames, error } = framer.push(both.subarray(50));
    expect(error).toBeUndefined();
    expect(frames.length).toBe(2);
    expect(parseMessage(frames[1]!).ok).toBe(true);
  });

  test('a stream message without Content-Length is an error (the connection is closed)', () => {
    expect(new SipStreamFramer().push(msg(INVITE)).error).toBeDefined();
  });
});
