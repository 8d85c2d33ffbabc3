// The SASL parsers under mutated valid messages: SCRAM client-first and client-final,
// PLAIN, and the base64 payload decoder. Every input is parsed or refused with a SASL
// condition; none throws.

import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { parseClientFinal, parseClientFirst } from '../../server/auth/sasl/scram/messages.ts';
import { parsePlainMessage } from '../../server/auth/sasl/plain.ts';
import { decodeSaslPayload } from '../../server/auth/sasl/encoding.ts';
import { FUZZ_PARAMS, TEST_TIMEOUT } from './budget.ts';
import { mutatedArb } from './mutate.ts';

const dec = new TextDecoder();
const corpus = [
  'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL',
  'y,,n=user,r=abc',
  'p=tls-exporter,a=alice@localhost,n=al=2Cice,r=x,ext=1',
  'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
  'c=cD10bHMtZXhwb3J0ZXIsLKqq,r=abc,x=1,p=AAAA',
  '\0alice\0secret',
  'alice@localhost\0alice\0secret',
];
const tokens = [',', '=', '=2C', '=3D', '=', 'n=', 'r=', 'c=', 'p=', 'a=', 'm=', '\0', '\u00ff', '\uD800', '==', 'biws'];

test('SASL: SCRAM, PLAIN and payload parsing return a result or a condition, never throw', () => {
  fc.assert(
    fc.property(mutatedArb(corpus, tokens), fc.string({ maxLength: 64 }), (bytes, b64ish) => {
      const text = dec.decode(bytes);
      for (const parsed of [parseClientFirst(text), parseClientFinal(text)]) {
        if (!parsed.ok) expect(typeof (parsed as { condition: string }).condition).toBe('string');
      }
      parsePlainMessage(bytes);
      const payload = decodeSaslPayload(b64ish);
      expect(typeof payload.ok).toBe('boolean');
      expect(typeof decodeSaslPayload(text).ok).toBe('boolean');
    }),
    FUZZ_PARAMS,
  );
}, TEST_TIMEOUT);
