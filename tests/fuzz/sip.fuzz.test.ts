// The SIP gateway's parser (mod_jingle_sip) under mutated RFC 3261/4475-style messages:
// parseMessage answers every input with a message or a refusal, never an exception; the
// TCP framer cuts any byte stream, in any chunks, without throwing or holding more than
// one message's worth of bytes.

import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { parseMessage } from '../../modules/mod_jingle_sip/sip/message.ts';
import { SipStreamFramer } from '../../modules/mod_jingle_sip/sip/framing.ts';
import { FUZZ_PARAMS, TEST_TIMEOUT } from './budget.ts';
import { mutatedArb, splitsArb } from './mutate.ts';

const invite = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9',
  'Max-Forwards: 70',
  'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
  'To: Bob <sip:bob@biloxi.example.com>',
  'Call-ID: 3848276298220188511@atlanta.example.com',
  'CSeq: 1 INVITE',
  'Contact: <sip:alice@client.atlanta.example.com;transport=tcp>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\r\n',
].join('\r\n');
const response = 'SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP host;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n';
const tokens = ['\r\n', '\r\n\r\n', ':', ';', ',', '<', '>', 'Content-Length: 99999999', 'l: -1', 'v: SIP/2.0/UDP', '%00', '\0', 'SIP/2.0', ' ', '\t'];

test('SIP: parseMessage and the stream framer end cleanly on any input', () => {
  fc.assert(
    fc.property(mutatedArb([invite, response], tokens), splitsArb(), (bytes, splits) => {
      const parsed = parseMessage(bytes) as { ok?: boolean };
      expect(typeof parsed).toBe('object');
      const framer = new SipStreamFramer();
      let at = 0;
      for (const cut of [...splits.map((s) => s % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
        if (cut > at) {
          const result = framer.push(bytes.subarray(at, cut));
          for (const frame of result.frames) parseMessage(frame);
          if (result.error !== undefined) break;
        }
        at = Math.max(at, cut);
      }
    }),
    FUZZ_PARAMS,
  );
}, TEST_TIMEOUT);
