// The host API: limits, reset, modes, view lifetime, re-entrancy, spliceAttributes.

import { describe, expect, test } from 'bun:test';
import { XmlStream, DEFAULT_LIMITS, PREAUTH_LIMITS, createTokenizer, type StanzaView, type XmlStreamHandlers, type XmlError, type StreamHeader } from '../../../parser-wasm/host/index.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en'>";

function text(parts: Uint8Array[]): string {
  return parts.map((p) => decoder.decode(p)).join('');
}

function collect(onStanza: (v: StanzaView, stream: XmlStream) => void = () => {}, mode: 'stream' | 'document' = 'stream') {
  const log = { stanzas: [] as string[], errors: [] as XmlError[], headers: [] as StreamHeader[], closes: 0 };
  let self: XmlStream;
  const handlers: XmlStreamHandlers = {
    onStreamOpen(h) {
      log.headers.push(h);
    },
    onStanza(v) {
      log.stanzas.push(v.toElement().toString());
      onStanza(v, self);
    },
    onStreamClose() {
      log.closes++;
    },
    onError(e) {
      log.errors.push(e);
    },
  };
  self = new XmlStream(handlers, { mode });
  return { stream: self, log, feed: (s: string) => self.feed(encoder.encode(s)) };
}

describe('limits', () => {
  test('PREAUTH_LIMITS is stricter than DEFAULT_LIMITS in every field', () => {
    for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof typeof DEFAULT_LIMITS>) {
      expect(PREAUTH_LIMITS[key]).toBeLessThan(DEFAULT_LIMITS[key]);
    }
  });

  test('limits are per stream on the shared instance', () => {
    const strict = collect();
    const loose = collect();
    strict.stream.setLimits(PREAUTH_LIMITS);
    const big = `<m>${'x'.repeat(PREAUTH_LIMITS.maxStanzaBytes)}</m>`;
    strict.feed(HEADER + big);
    loose.feed(HEADER + big);
    expect(strict.log.errors.map((e) => e.condition)).toEqual(['policy-violation']);
    expect(strict.log.errors[0].message).toBe(`stanza exceeds ${PREAUTH_LIMITS.maxStanzaBytes} bytes`);
    expect(loose.log.errors).toEqual([]);
    expect(loose.log.stanzas.length).toBe(1);
    expect(strict.stream.limits.maxStanzaBytes).toBe(PREAUTH_LIMITS.maxStanzaBytes);
    strict.stream.free();
    loose.stream.free();
  });

  test('setLimits rejects nonsense', () => {
    const { stream } = collect();
    expect(() => stream.setLimits({ maxDepth: -1 })).toThrow(RangeError);
    expect(() => stream.setLimits({ maxDepth: 1.5 })).toThrow(RangeError);
    stream.free();
  });
});

describe('interleaved streams on one instance', () => {
  test('partial stanzas of two streams do not mix', () => {
    const a = collect();
    const b = collect();
    const sa = HEADER + "<message to='a'><body>first stream</body></message>";
    const sb = HEADER + "<presence from='b'><status>second</status></presence>";
    for (let i = 0; i < Math.max(sa.length, sb.length); i += 5) {
      a.feed(sa.slice(i, i + 5));
      b.feed(sb.slice(i, i + 5));
    }
    expect(a.log.stanzas).toEqual(["<message to='a' xmlns='jabber:client'><body>first stream</body></message>"]);
    expect(b.log.stanzas).toEqual(["<presence from='b' xmlns='jabber:client'><status>second</status></presence>"]);
    a.stream.free();
    b.stream.free();
  });

  test('a handler may feed another stream', () => {
    const other = collect();
    const first = collect((v) => {
      if (v.local === 'a') other.feed(HEADER + '<relayed/>');
    });
    first.feed(HEADER + '<a/><b/>');
    expect(first.log.stanzas.length).toBe(2);
    expect(other.log.stanzas).toEqual(["<relayed xmlns='jabber:client'/>"]);
    expect(other.log.errors).toEqual([]);
    first.stream.free();
    other.stream.free();
  });
});

describe('reset()', () => {
  test('clears stream-level namespaces', () => {
    const { stream, log, feed } = collect();
    feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns:x='urn:x'><x:a/>");
    stream.reset();
    feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><x:a/>");
    expect(log.stanzas).toEqual(["<x:a xmlns:x='urn:x'/>"]);
    expect(log.headers.length).toBe(2);
    expect(log.errors.map((e) => [e.condition, e.offset])).toEqual([['bad-namespace-prefix', 64]]);
    stream.free();
  });

  test('inside a handler, discards the rest of the chunk (STARTTLS)', () => {
    const { stream, log, feed } = collect((v, s) => {
      if (v.local === 'starttls') s.reset();
    });
    feed(HEADER + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><injected/>");
    expect(log.stanzas).toEqual(["<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"]);
    feed(HEADER + '<after/>');
    expect(log.stanzas[1]).toBe("<after xmlns='jabber:client'/>");
    expect(log.errors).toEqual([]);
    stream.free();
  });

  test('error offsets count from the last reset', () => {
    const { stream, log, feed } = collect();
    feed(HEADER + '<a/>');
    stream.reset();
    feed('<!-- -->');
    expect(log.errors.map((e) => e.offset)).toEqual([0]);
    stream.free();
  });
});

describe('document mode', () => {
  test('BOSH body: children() are views with their own bytes', () => {
    const seen: Array<[string, string, string]> = [];
    const { stream, feed } = collect((body) => {
      for (const child of body.children()) seen.push([child.name, child.ns, decoder.decode(child.raw)]);
      const spliced = text(body.children()[0].spliceAttributes({ from: 'a@b/c' }));
      expect(spliced).toBe("<message xmlns='jabber:client' to='x' from='a@b/c' xml:lang='de'><body>1</body></message>");
    }, 'document');
    feed("<body xmlns='http://jabber.org/protocol/httpbind' xml:lang='de' rid='1'><message xmlns='jabber:client' to='x'><body>1</body></message><iq xmlns='jabber:client'/></body>");
    expect(seen).toEqual([
      ['message', 'jabber:client', "<message xmlns='jabber:client' to='x'><body>1</body></message>"],
      ['iq', 'jabber:client', "<iq xmlns='jabber:client'/>"],
    ]);
    stream.free();
  });

  test('finish() ends a WebSocket frame; a cut frame is not-well-formed', () => {
    const { stream, log, feed } = collect(() => {}, 'document');
    feed("<?xml version='1.0'?><open xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    stream.finish();
    feed("<?xml version='1.0'?><message xmlns='jabber:client'/>");
    stream.finish();
    feed("<message xmlns='jabber:client'>");
    stream.finish();
    expect(log.stanzas.length).toBe(2);
    expect(log.errors.map((e) => e.condition)).toEqual(['not-well-formed']);
    stream.free();
  });
});

describe('views', () => {
  test('attribute access by qualified name, decoded lazily', () => {
    let got: unknown[] = [];
    const { stream, feed } = collect((v) => {
      got = [v.name, v.local, v.prefix, v.ns, v.attr('to'), v.attr('xml:lang'), v.attr('missing'), v.attr('värde'), v.attrs.map((a) => [a.name, a.ns, a.value])];
    });
    feed(HEADER + "<stream:features to='a&amp;b' xml:lang='fr' värde='1'/>");
    expect(got).toEqual(['stream:features', 'features', 'stream', 'http://etherx.jabber.org/streams', 'a&b', 'fr', undefined, '1', [
      ['to', '', 'a&b'], ['xml:lang', 'http://www.w3.org/XML/1998/namespace', 'fr'], ['värde', '', '1'],
    ]]);
    stream.free();
  });

  test('a view used after its callback throws instead of reading other bytes', () => {
    let kept: StanzaView | undefined;
    const { stream, feed } = collect((v) => {
      kept ??= v;
    });
    feed(HEADER + '<a/><b/>');
    expect(() => kept!.name).toThrow(/after its callback/);
    expect(() => kept!.raw).toThrow(/after its callback/);
    stream.free();
  });

  test('copyRaw() and toElement() survive the callback', () => {
    let copy: Uint8Array | undefined;
    const { stream, feed } = collect((v) => {
      copy = v.copyRaw();
    });
    feed(HEADER + "<a x='1'>t</a><b/>");
    expect(decoder.decode(copy)).toBe('<b/>');
    stream.free();
  });

  test('offset is the stream offset of the raw bytes', () => {
    const offsets: number[] = [];
    const { stream, feed } = collect((v) => offsets.push(v.offset));
    feed(HEADER + '<a/> <b/>');
    expect(offsets).toEqual([HEADER.length, HEADER.length + 5]);
    stream.free();
  });

  test('feed() on the same stream from a handler is queued after the current chunk', () => {
    const { stream, log, feed } = collect((v, s) => {
      if (v.local === 'a') s.feed(encoder.encode('<queued/>'));
    });
    feed(HEADER + '<a/><b/>');
    expect(log.stanzas).toEqual(["<a xmlns='jabber:client'/>", "<b xmlns='jabber:client'/>", "<queued xmlns='jabber:client'/>"]);
    stream.free();
  });

  test('free() inside a handler stops the stream', () => {
    const { stream, log, feed } = collect((_v, s) => s.free());
    feed(HEADER + '<a/><b/>');
    expect(log.stanzas.length).toBe(1);
    expect(() => stream.feed(encoder.encode('<c/>'))).toThrow(/after free/);
  });
});

describe('spliceAttributes', () => {
  function splice(stanza: string, set: Record<string, string | undefined>): string {
    let out = '';
    const { stream, log, feed } = collect((v) => {
      out = text(v.spliceAttributes(set));
    });
    feed(HEADER + stanza);
    expect(log.errors).toEqual([]);
    stream.free();
    return out;
  }

  test('replaces an existing attribute whole, whatever its quotes and contents', () => {
    expect(splice(`<message from="x'/>evil from='y'" to='b'><body/></message>`, { from: 'a@b/c' }))
      .toBe("<message to='b' from='a@b/c' xmlns='jabber:client' xml:lang='en'><body/></message>");
  });

  test('escapes the new value', () => {
    expect(splice('<presence/>', { from: `a'"<&>\t` }))
      .toBe("<presence from='a&apos;&quot;&lt;&amp;&gt;&#9;' xmlns='jabber:client' xml:lang='en'/>");
  });

  test('undefined removes; own xmlns and xml:lang are kept as they are', () => {
    expect(splice("<iq xmlns='jabber:client' xml:lang='fr' to='x' id='1' type='get'/>", { to: undefined }))
      .toBe("<iq xmlns='jabber:client' xml:lang='fr' id='1' type='get'/>");
  });

  test('inserts before a self-closing end with whitespace', () => {
    expect(splice("<a xmlns='urn:a' />", { to: 't' })).toBe("<a xmlns='urn:a'  to='t' xml:lang='en'/>");
  });

  test('re-declares stream prefixes the stanza uses', () => {
    expect(splice('<stream:error><x/></stream:error>', {}))
      .toBe("<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' xml:lang='en'><x/></stream:error>");
  });

  test('refuses names it cannot write safely', () => {
    let errors: unknown[] = [];
    const { stream, feed } = collect((v) => {
      for (const key of ['xmlns', 'xmlns:x', 'a b', "a'", 'p:x', '']) {
        try {
          v.spliceAttributes({ [key]: 'v' });
        } catch (e) {
          errors.push(e);
        }
      }
    });
    feed(HEADER + '<a/>');
    expect(errors.length).toBe(6);
    expect(errors.every((e) => e instanceof TypeError)).toBe(true);
    stream.free();
  });
});

describe('edge cases of the host', () => {
  test('a raw view of one stream can be fed into another stream whose feed grows memory', () => {
    const instance = createTokenizer();
    const got: string[] = [];
    const quiet = { onStreamOpen() {}, onStreamClose() {}, onError(e: XmlError) { got.push(e.condition); } };
    const sink = new XmlStream({ ...quiet, onStanza(v) { got.push(v.toElement().getChildText('relay') ?? 'missing'); } }, {}, instance);
    // The sink's window holds a partial stanza filling its buffer, so the next feed reallocates.
    sink.setLimits({ maxStanzaBytes: 1 << 20 });
    sink.feed(encoder.encode(HEADER));
    sink.feed(encoder.encode('<m>' + 'x'.repeat(65536 - 8 - 3)));
    let grew = false;
    const source = new XmlStream({
      ...quiet,
      onStanza(v) {
        const before = instance.memory.buffer.byteLength;
        sink.feed(v.raw);
        grew = instance.memory.buffer.byteLength > before;
      },
    }, {}, instance);
    source.feed(encoder.encode(HEADER + '<relay>relay me</relay>'));
    sink.feed(encoder.encode('</m>'));
    expect(grew).toBe(true);
    expect(got).toEqual(['relay me']);
    source.free();
    sink.free();
  });

  test('limits report what the tokenizer enforces', () => {
    const { stream } = collect();
    stream.setLimits({ maxStanzaBytes: 2 ** 40, maxNameLength: 10 ** 9 });
    expect(stream.limits.maxStanzaBytes).toBe(2 ** 30);
    expect(stream.limits.maxNameLength).toBe(65535);
    stream.free();
  });
});
