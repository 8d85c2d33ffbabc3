// Hostile inputs: each must end in the right error quickly, or complete, without
// recursion, rescanning or unbounded buffering.

import { describe, expect, test } from 'bun:test';
import { XmlStream, DEFAULT_LIMITS, createTokenizer, type XmlError, type StanzaView, type ParserLimits } from '../../../parser-wasm/host/index.ts';
import { Element } from '../../../server/xml/element.ts';

const encoder = new TextEncoder();
const HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
const HEADER_LEN = encoder.encode(HEADER).length;

interface Outcome {
  errors: XmlError[];
  stanzas: Element[];
  stream: XmlStream;
}

function open(options: { mode?: 'stream' | 'document'; limits?: Partial<ParserLimits>; onStanza?: (v: StanzaView) => void } = {}): Outcome {
  const out: Outcome = { errors: [], stanzas: [], stream: undefined as unknown as XmlStream };
  out.stream = new XmlStream({
    onStreamOpen() {},
    onStanza(v) {
      if (options.onStanza) options.onStanza(v);
      else out.stanzas.push(v.toElement());
    },
    onStreamClose() {},
    onError(e) {
      out.errors.push(e);
    },
  }, { mode: options.mode, limits: options.limits }, isolated);
  return out;
}

// Huge inputs grow linear memory; keep that away from the instance other tests share.
const isolated = createTokenizer();

function feedByteByByte(stream: XmlStream, bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) stream.feed(bytes.subarray(i, i + 1));
}

describe('hostile inputs', () => {
  test('billion laughs DOCTYPE is refused before any entity is looked at', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><lolz>&lol9;</lolz>`;
    const o = open({ mode: 'document' });
    o.stream.feed(encoder.encode(lol));
    expect(o.errors).toEqual([{ condition: 'restricted-xml', offset: 21, message: 'DOCTYPE is not allowed' }]);
    o.stream.free();
  });

  test('1,000,000-deep nesting ends in policy-violation at the first element too deep', () => {
    const o = open();
    o.stream.feed(encoder.encode(HEADER));
    o.stream.feed(encoder.encode('<a>'.repeat(1_000_000)));
    expect(o.errors.length).toBe(1);
    expect(o.errors[0].condition).toBe('policy-violation');
    expect(o.errors[0].offset).toBe(HEADER_LEN + 3 * DEFAULT_LIMITS.maxDepth);
    o.stream.free();
  });

  test('100,000-deep nesting within raised limits completes and builds its tree without recursion', () => {
    const depth = 100_000;
    let leafDepth = 0;
    let rawLength = 0;
    const o = open({
      limits: { maxDepth: depth, maxElementsPerStanza: depth, maxStanzaBytes: 8 * depth },
      onStanza(v) {
        rawLength = v.raw.length;
        const root = v.toElement();
        let el = root;
        while (el.children.length > 0) {
          el = el.children[0] as Element;
          leafDepth++;
        }
        expect(root.toString().length).toBeGreaterThan(depth * 7);
        expect(v.spliceAttributes({ from: 'x@y' }).reduce((n, p) => n + p.length, 0)).toBeGreaterThan(depth * 7);
      },
    });
    o.stream.feed(encoder.encode(HEADER + '<a>'.repeat(depth) + '</a>'.repeat(depth)));
    expect(o.errors).toEqual([]);
    expect(leafDepth).toBe(depth - 1);
    expect(rawLength).toBe(7 * depth);
    o.stream.free();
  });

  test('200,000 empty children hit the element limit where it is crossed', () => {
    const o = open();
    o.stream.feed(encoder.encode(HEADER + '<m>' + '<a/>'.repeat(200_000) + '</m>'));
    expect(o.errors.length).toBe(1);
    expect(o.errors[0].condition).toBe('policy-violation');
    // the stanza itself is element 1; child n starts at 3 + 4(n-1)
    expect(o.errors[0].offset).toBe(HEADER_LEN + 3 + 4 * (DEFAULT_LIMITS.maxElementsPerStanza - 1));
    o.stream.free();
  });

  test('a 1 MB attribute fed one byte at a time stops at the start-tag limit', () => {
    const o = open();
    o.stream.feed(encoder.encode(HEADER));
    const bytes = encoder.encode(`<message to='${'x'.repeat(1 << 20)}'/>`);
    feedByteByByte(o.stream, bytes);
    expect(o.errors.length).toBe(1);
    expect(o.errors[0].condition).toBe('policy-violation');
    expect(o.errors[0].offset).toBe(HEADER_LEN + DEFAULT_LIMITS.maxStartTagBytes);
    o.stream.free();
  });

  test('a 1 MB attribute fed one byte at a time within raised limits completes', () => {
    let value = '';
    const o = open({
      limits: { maxStartTagBytes: 2 << 20, maxStanzaBytes: 2 << 20 },
      onStanza(v) {
        value = v.attr('to') ?? '';
      },
    });
    o.stream.feed(encoder.encode(HEADER));
    feedByteByByte(o.stream, encoder.encode(`<message to='${'x'.repeat(1 << 20)}'/>`));
    expect(o.errors).toEqual([]);
    expect(value.length).toBe(1 << 20);
    o.stream.free();
  });

  test('a 1 MB text node fed one byte at a time with a high limit completes', () => {
    let text = '';
    const o = open({
      limits: { maxStanzaBytes: 2 << 20 },
      onStanza(v) {
        text = v.toElement().text;
      },
    });
    o.stream.feed(encoder.encode(HEADER));
    const body = 'é'.repeat(1 << 19); // 1 MB of two-byte characters: every other split is inside one
    feedByteByByte(o.stream, encoder.encode(`<m>${body}</m>`));
    expect(o.errors).toEqual([]);
    expect(text).toBe(body);
    o.stream.free();
  });

  test('a 4-byte emoji split over three chunks', () => {
    const o = open();
    o.stream.feed(encoder.encode(HEADER + '<m>'));
    o.stream.feed(Uint8Array.of(0xf0));
    o.stream.feed(Uint8Array.of(0x9f, 0x98));
    o.stream.feed(Uint8Array.of(0x80, 0x3c, 0x2f, 0x6d, 0x3e));
    expect(o.errors).toEqual([]);
    expect(o.stanzas.map((e) => e.text)).toEqual(['\u{1F600}']);
    o.stream.free();
  });

  for (const [name, input, condition, offset] of [
    ['&#0;', '<m>&#0;</m>', 'not-well-formed', 3],
    ['&#xD800;', '<m>&#xD800;</m>', 'not-well-formed', 3],
    ['UTF-16 byte order mark', '\uFEFF', 'unsupported-encoding', 0],
    ['<a:b/> with no prefix declared', '<a:b/>', 'bad-namespace-prefix', 1],
  ] as const) {
    test(name, () => {
      const o = open({ mode: 'document' });
      const bytes = name.startsWith('UTF-16') ? Uint8Array.of(0xfe, 0xff, 0x00, 0x3c) : encoder.encode(input);
      o.stream.feed(bytes);
      expect(o.errors.map((e) => [e.condition, e.offset])).toEqual([[condition, offset]]);
      o.stream.free();
    });
  }

  test('nothing is processed after an error until reset()', () => {
    const o = open();
    o.stream.feed(encoder.encode(HEADER + '<m>&bogus;</m><ok/>'));
    o.stream.feed(encoder.encode('<ok/>'));
    expect(o.errors.length).toBe(1);
    expect(o.stanzas).toEqual([]);
    o.stream.reset();
    o.stream.feed(encoder.encode(HEADER + '<ok/>'));
    expect(o.stanzas.map((e) => e.name)).toEqual(['ok']);
    o.stream.free();
  });
});
