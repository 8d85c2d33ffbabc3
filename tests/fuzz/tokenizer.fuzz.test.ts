// The tokenizer under mutated conformance inputs and stanzas, cut into arbitrary chunks,
// in stream and document mode, with the pre-authentication limits: every input ends in
// events and at most one error, never an exception; after an error nothing more is
// reported; splitting the same bytes differently never changes the outcome.

import { expect, test } from 'bun:test';
import fc from 'fast-check';
import table from '../fixtures/parser/conformance.json' with { type: 'json' };
import { XmlStream, type XmlStreamMode } from '../../parser-wasm/host/index.ts';
import { PREAUTH_LIMITS } from '../../parser-wasm/host/limits.ts';
import { FUZZ_PARAMS, TEST_TIMEOUT } from './budget.ts';
import { mutatedArb, splitsArb } from './mutate.ts';

const HEADER = (table as { header: string }).header;
const corpus = [
  ...(table as { cases: Array<{ input: string; header?: boolean }> }).cases.map((c) => (c.header ? HEADER : '') + c.input.replace(/\\x[0-9A-Fa-f]{2}/g, '')),
  `${HEADER}<message to='a@b' id='1'><body>x &amp; &lt;y&gt; <![CDATA[<z/>]]>\r\n</body></message>`,
  `${HEADER}<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq></stream:stream>`,
];
const tokens = ['<', '>', '/>', '</', '&', '&amp;', '&#x0;', '<!--', '-->', '<![CDATA[', ']]>', '<?', '?>', '<!DOCTYPE', "'", '"', 'xmlns:', ':', '\u00ff', '\r\n', '\xC0', '\uFEFF', '</stream:stream>'];

function run(bytes: Uint8Array, splits: number[], mode: XmlStreamMode): string[] {
  const events: string[] = [];
  const stream = new XmlStream({
    onStreamOpen: () => events.push('open'),
    onStanza: (v) => events.push(`stanza:${v.raw.length}`),
    onStreamClose: () => events.push('close'),
    onError: (e) => events.push(`error:${e.condition}`),
  }, { mode, limits: PREAUTH_LIMITS });
  try {
    let at = 0;
    for (const cut of [...splits.map((s) => s % (bytes.length + 1)).sort((a, b) => a - b), bytes.length]) {
      if (cut > at) stream.feed(bytes.subarray(at, cut));
      at = Math.max(at, cut);
    }
    stream.finish();
  } finally {
    stream.free();
  }
  return events;
}

test('tokenizer: mutated inputs in arbitrary chunks end cleanly, the same however they are cut', () => {
  fc.assert(
    fc.property(mutatedArb(corpus, tokens), splitsArb(), fc.constantFrom<XmlStreamMode>('stream', 'document'), (bytes, splits, mode) => {
      const whole = run(bytes, [], mode);
      const errors = whole.filter((e) => e.startsWith('error:'));
      expect(errors.length).toBeLessThanOrEqual(1);
      if (errors.length === 1) expect(whole[whole.length - 1]).toBe(errors[0]);
      expect(run(bytes, splits, mode)).toEqual(whole);
    }),
    FUZZ_PARAMS,
  );
}, TEST_TIMEOUT);
