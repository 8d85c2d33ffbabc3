// RFC 3261 §17 transactions under a manual clock: retransmission schedules (Timers A, E, G),
// give-up timers (B, F, H, L), absorption of retransmitted requests, ACK for failures.

import { describe, expect, test } from 'bun:test';
import { SipStack, type ServerTransaction } from '../../../modules/mod_jingle_sip/sip/transactions.ts';
import { ManualTimers } from '../../../modules/mod_jingle_sip/sip/timers.ts';
import { responseTo, parseMessage, type SipRequest } from '../../../modules/mod_jingle_sip/sip/message.ts';

const peer = { address: '127.0.0.1', port: 5060 };
const enc = new TextEncoder();

function harness(reliable = false) {
  const timers = new ManualTimers();
  const sent: Array<{ at: number; data: string }> = [];
  const requests: Array<{ req: SipRequest; tx: ServerTransaction | undefined }> = [];
  const stack = new SipStack({
    send: (data) => sent.push({ at: timers.now, data }),
    reliable,
    timers,
    onRequest: (req, tx) => requests.push({ req, tx }),
  });
  const replies: string[] = [];
  const receive = (text: string) => stack.receive(enc.encode(text), peer, (d) => replies.push(d));
  return { timers, sent, requests, stack, replies, receive };
}

function request(method: string, branch = 'z9hG4bKabc'): SipRequest {
  return {
    kind: 'request', method, uri: 'sip:bob@127.0.0.1',
    headers: [
      { name: 'via', value: `SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}` },
      { name: 'from', value: '<sip:alice@127.0.0.1>;tag=a1' },
      { name: 'to', value: '<sip:bob@127.0.0.1>' },
      { name: 'call-id', value: 'call-1' },
      { name: 'cseq', value: `1 ${method}` },
    ],
    body: '',
  };
}

const wire = (method: string, extra = ''): string =>
  `${method} sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKsrv\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>${extra}\r\nCall-ID: call-2\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;

describe('client INVITE transaction', () => {
  test('Timer A doubles from T1 until Timer B (64·T1) gives up', () => {
    const h = harness();
    let timedOut = false;
    h.stack.request(request('INVITE'), peer, { final: () => {}, timeout: () => { timedOut = true; } });
    h.timers.advance(40_000);
    expect(h.sent.map((s) => s.at)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(timedOut).toBe(true);
    expect(h.stack.transactionCount).toBe(0);
  });

  test('a provisional stops retransmissions; a 486 is ACKed with the same branch, and again for its retransmission', () => {
    const h = harness();
    const finals: number[] = [];
    const inv = request('INVITE');
    h.stack.request(inv, peer, { final: (r) => finals.push(r.status), timeout: () => {} });
    const wireResponse = (status: number, reason: string) => {
      const r = responseTo(inv, status, reason, 'b1');
      return `SIP/2.0 ${status} ${reason}\r\n${r.headers.map((x) => `${x.name}: ${x.value}`).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
    };
    h.receive(wireResponse(180, 'Ringing'));
    h.timers.advance(10_000);
    expect(h.sent.length).toBe(1);
    h.receive(wireResponse(486, 'Busy Here'));
    h.receive(wireResponse(486, 'Busy Here'));
    expect(finals).toEqual([486]);
    const acks = h.sent.slice(1).map((s) => s.data);
    expect(acks.length).toBe(2);
    expect(acks[0]!.startsWith('ACK sip:bob@127.0.0.1 SIP/2.0')).toBe(true);
    expect(acks[0]).toContain('branch=z9hG4bKabc');
    expect(acks[0]).toContain('tag=b1');
    h.timers.advance(32_000); // Timer D
    expect(h.stack.transactionCount).toBe(0);
  });

  test('over TCP nothing is retransmitted', () => {
    const h = harness(true);
    h.stack.request(request('INVITE'), peer, { final: () => {}, timeout: () => {} });
    h.timers.advance(40_000);
    expect(h.sent.length).toBe(1);
  });
});

describe('client non-INVITE transaction', () => {
  test('Timer E doubles up to T2, Timer F gives up at 64·T1', () => {
    const h = harness();
    let timedOut = false;
    h.stack.request(request('BYE'), peer, { final: () => {}, timeout: () => { timedOut = true; } });
    h.timers.advance(33_000);
    expect(h.sent.map((s) => s.at).slice(0, 7)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    expect(timedOut).toBe(true);
  });
});

describe('server transactions', () => {
  test('a retransmitted INVITE is absorbed and answered with the last response', () => {
    const h = harness();
    h.receive(wire('INVITE'));
    h.receive(wire('INVITE'));
    expect(h.requests.length).toBe(1);
    const tx = h.requests[0]!.tx!;
    tx.respond(responseTo(tx.request, 180, 'Ringing', 't'));
    h.receive(wire('INVITE'));
    expect(h.replies.length).toBe(2);
    expect(h.replies[1]).toStartWith('SIP/2.0 180');
  });

  test('a 486 is retransmitted (Timer G) until the ACK; then the transaction ends (Timer I)', () => {
    const h = harness();
    h.receive(wire('INVITE'));
    const tx = h.requests[0]!.tx!;
    tx.respond(responseTo(tx.request, 486, 'Busy Here', 't'));
    h.timers.advance(1600);
    expect(h.replies.length).toBe(3); // at 0, 500, 1500
    h.receive(wire('ACK', ';tag=t'));
    expect(tx.state).toBe('confirmed');
    h.timers.advance(5000);
    expect(tx.state).toBe('terminated');
    expect(h.stack.transactionCount).toBe(0);
  });

  test('a 200 without its ACK: retransmitted, then Timer L reports it', () => {
    const h = harness();
    h.receive(wire('INVITE'));
    const tx = h.requests[0]!.tx!;
    let noAck = false;
    tx.onAckTimeout = () => { noAck = true; };
    tx.respond(responseTo(tx.request, 200, 'OK', 't'));
    h.timers.advance(32_000);
    expect(noAck).toBe(true);
    expect(h.replies.length).toBeGreaterThan(5);
    expect(h.stack.transactionCount).toBe(0);
  });

  test('a malformed request is answered 400 and creates no transaction', () => {
    const h = harness();
    h.receive(wire('INVITE').replace('CSeq: 1 INVITE', 'CSeq: 1 INVITE\r\nCSeq: 2 INVITE'));
    expect(h.replies[0]).toStartWith('SIP/2.0 400 Bad Request');
    expect(h.requests.length).toBe(0);
    expect(parseMessage(enc.encode(h.replies[0]!)).ok).toBe(true);
  });
});
