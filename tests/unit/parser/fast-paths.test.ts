// The host's fast paths for what a router reads: ASCII values copied without decoding (the
// tokenizer's FLAG_NON_ASCII), interned common words, and one view object reused for every
// stanza of a stream. Each test checks the fast path gives what full decoding gives, at
// every chunking, and that the lifetime rule still holds.

import { describe, expect, test } from 'bun:test';
import { XmlStream, createTokenizer, type StanzaView, type XmlError } from '../../../parser-wasm/host/index.ts';
import { internedAscii } from '../../../parser-wasm/host/interned.ts';
import type { Element } from '../../../server/xml/element.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/** Feeds `xml` (after a stream header) in pieces of `step` bytes; calls `read` for each stanza. */
function eachStanza<T>(xml: string, read: (v: StanzaView) => T, step = 1 << 20): T[] {
  const out: T[] = [];
  const errors: XmlError[] = [];
  const stream = new XmlStream({
    onStreamOpen() {},
    onStanza(v) { out.push(read(v)); },
    onStreamClose() {},
    onError(e) { errors.push(e); },
  });
  const bytes = encoder.encode(HEADER + xml);
  for (let at = 0; at < bytes.length; at += step) stream.feed(bytes.subarray(at, at + step));
  stream.free();
  expect(errors).toEqual([]);
  return out;
}

/** The same reading at several chunkings, which must all agree. */
function atEveryChunking<T>(xml: string, read: (v: StanzaView) => T): T[] {
  const whole = eachStanza(xml, read);
  for (const step of [1, 2, 3, 7]) expect(eachStanza(xml, read, step)).toEqual(whole);
  return whole;
}

describe('attribute values', () => {
  const cases: Array<[string, string]> = [
    ['plain@example.com/res', 'plain@example.com/res'],
    ['café', 'café'],
    ['日本語', '日本語'],
    ['🙂 ok', '🙂 ok'],
    ['a&amp;b', 'a&b'],
    ['&lt;&gt;&quot;&apos;', '<>"\''],
    ['caf&#233;', 'café'],
    ['&#x1F642;', '🙂'],
    ['é&amp;ü', 'é&ü'],
    ['tab\there', 'tab here'],
    ['line\nfeed', 'line feed'],
    ['cr\r\nlf', 'cr lf'],
    ['ref&#10;kept', 'ref\nkept'],
    ['', ''],
  ];
  for (const [written, value] of cases) {
    test(`${JSON.stringify(written)} reads as ${JSON.stringify(value)}`, () => {
      const got = atEveryChunking(`<message id="${written}" to='x'/>`, (v) => [v.attr('id'), v.attr('to'), v.attrs[0].value]);
      expect(got).toEqual([[value, 'x', value]]);
    });
  }

  test('a non-ASCII value after an ASCII one on the same tag, and the reverse', () => {
    const got = atEveryChunking("<message to='bob@example.com' from='jürgen@example.com' id='ü1' type='chat'/>", (v) =>
      ['to', 'from', 'id', 'type'].map((n) => v.attr(n)));
    expect(got).toEqual([['bob@example.com', 'jürgen@example.com', 'ü1', 'chat']]);
  });

  test('toElement() gives the same values and text as the view', () => {
    const got = atEveryChunking("<message to='a@b' x='é&amp;'><body>plain</body><body>ça &amp; &#233;</body><b><![CDATA[<é>]]></b></message>", (v) => {
      const el = v.toElement();
      const texts = el.children.map((c) => (c as Element).children.join(''));
      return [el.attrs.to, el.attrs.x, v.attr('x'), ...texts];
    });
    expect(got).toEqual([['a@b', 'é&', 'é&', 'plain', 'ça & é', '<é>']]);
  });

  test('random values read back exactly, whatever their characters', () => {
    let x = 12345;
    const rnd = (n: number): number => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x % n;
    };
    const pieces: Array<[string, string]> = [
      ['a', 'a'], ['Z', 'Z'], ['@', '@'], ['/', '/'], ['é', 'é'], ['日', '日'], ['🙂', '🙂'],
      ['&amp;', '&'], ['&lt;', '<'], ['&#233;', 'é'], ['\t', ' '], ['chat', 'chat'], ['get', 'get'],
    ];
    const expected: string[] = [];
    let xml = '';
    for (let i = 0; i < 300; i++) {
      let written = '';
      let value = '';
      for (let n = rnd(8); n > 0; n--) {
        const [w, v] = pieces[rnd(pieces.length)];
        written += w;
        value += v;
      }
      xml += `<iq type='result' id='${written}'/>`;
      expected.push(value);
    }
    expect(atEveryChunking(xml, (v) => v.attr('id'))).toEqual(expected);
  });
});

describe('interned words', () => {
  test('common names and types come back as the same strings, equal to what was sent', () => {
    const got = atEveryChunking("<message type='chat'/><iq type='result' id='1'/><presence type='unavailable'/><message type='groupchat'/>", (v) =>
      [v.local, v.name, v.attr('type')]);
    expect(got).toEqual([
      ['message', 'message', 'chat'],
      ['iq', 'iq', 'result'],
      ['presence', 'presence', 'unavailable'],
      ['message', 'message', 'groupchat'],
    ]);
  });

  test('near misses are read as written, not as the word they resemble', () => {
    const values = ['cha', 'chats', 'Chat', 'chät', 'chaT', 'gets', 'subscribe', 'subscribes', 'unsubscribe', 'unavailable', 'x', 'y', 'ge'];
    const xml = values.map((t) => `<message type='${t}'/>`).join('') + '<messagé/><messages/><iq2/>';
    const got = atEveryChunking(xml, (v) => v.attr('type') ?? v.local);
    expect(got).toEqual([...values, 'messagé', 'messages', 'iq2']);
  });

  test('the lookup matches bytes exactly and refuses non-ASCII', () => {
    const bytes = (s: string): Uint8Array => encoder.encode(s);
    expect(internedAscii(bytes('chat'), 0, 4)).toBe('chat');
    expect(internedAscii(bytes('xchatx'), 1, 4)).toBe('chat');
    expect(internedAscii(bytes('chaT'), 0, 4)).toBeUndefined();
    expect(internedAscii(bytes('chat'), 0, 3)).toBeUndefined();
    expect(internedAscii(bytes(''), 0, 0)).toBeUndefined();
    expect(internedAscii(Uint8Array.of(0xe3, 0x68, 0x61, 0x74), 0, 4)).toBeUndefined();
    expect(internedAscii(bytes('a'.repeat(40)), 0, 40)).toBeUndefined();
  });

  test('prefixed names keep their prefix and local part', () => {
    const got = atEveryChunking("<stream:features/><stream:error><x xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", (v) => [v.name, v.prefix, v.local]);
    expect(got).toEqual([['stream:features', 'stream', 'features'], ['stream:error', 'stream', 'error']]);
  });
});

describe('one view per stream, valid only during its callback', () => {
  test('each stanza is read through the same view object, which always reads the current stanza', () => {
    const views: StanzaView[] = [];
    const got = eachStanza("<message id='1' type='chat'/><iq id='2' type='get'/><presence id='3'/>", (v) => {
      views.push(v);
      return [v.local, v.attr('id'), v.attr('type'), decoder.decode(v.raw)];
    });
    expect(got).toEqual([
      ['message', '1', 'chat', "<message id='1' type='chat'/>"],
      ['iq', '2', 'get', "<iq id='2' type='get'/>"],
      ['presence', '3', undefined, "<presence id='3'/>"],
    ]);
    expect(views[1]).toBe(views[0]);
    expect(views[2]).toBe(views[0]);
  });

  test('a kept view throws after its callback, even for what it read (and cached) during it', () => {
    let kept: StanzaView | undefined;
    eachStanza("<message id='1'/>", (v) => {
      kept = v;
      return [v.name, v.local, v.ns, v.attr('id')];
    });
    for (const read of [() => kept!.name, () => kept!.local, () => kept!.ns, () => kept!.attr('id'), () => kept!.raw, () => kept!.offset,
      () => kept!.attrs, () => kept!.toElement(), () => kept!.copyRaw(), () => kept!.children(), () => kept!.spliceAttributes({ to: 'x' })]) {
      expect(read).toThrow(/after its callback/);
    }
  });

  test('children() views of an earlier stanza throw while a later stanza is being read', () => {
    const errors: string[] = [];
    let earlier: StanzaView[] = [];
    const stream = new XmlStream({
      onStreamOpen() {},
      onStanza(v) {
        if (earlier.length === 0) earlier = v.children();
        else {
          try {
            void earlier[0].local;
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      },
      onStreamClose() {},
      onError() {},
    }, { mode: 'document' });
    stream.feed(encoder.encode("<body xmlns='http://jabber.org/protocol/httpbind'><message/></body>"));
    stream.finish();
    stream.feed(encoder.encode("<body xmlns='http://jabber.org/protocol/httpbind'><iq/></body>"));
    stream.finish();
    stream.free();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/after its callback/);
  });

  test('copyRaw() and toElement() keep a stanza intact while later stanzas reuse the view', () => {
    const kept = eachStanza("<message to='a@x' id='1'><body>one</body></message><message to='b@x' id='2'><body>two</body></message>", (v) =>
      ({ raw: v.copyRaw(), element: v.toElement(), id: v.attr('id') }));
    expect(kept.map((k) => decoder.decode(k.raw))).toEqual([
      "<message to='a@x' id='1'><body>one</body></message>",
      "<message to='b@x' id='2'><body>two</body></message>",
    ]);
    expect(kept.map((k) => [k.element.attrs.to, k.element.getChildText('body'), k.id])).toEqual([['a@x', 'one', '1'], ['b@x', 'two', '2']]);
  });

  test('values are read correctly after a handler grew the instance memory', () => {
    const instance = createTokenizer();
    const got: Array<string | undefined> = [];
    const quiet = { onStreamOpen() {}, onStreamClose() {}, onError() {} };
    const other = new XmlStream({ ...quiet, onStanza() {} }, {}, instance);
    other.setLimits({ maxStanzaBytes: 1 << 22 });
    other.feed(encoder.encode(HEADER));
    const stream = new XmlStream({
      ...quiet,
      onStanza(v) {
        const before = instance.memory.buffer.byteLength;
        // A large partial stanza on the other stream makes the tokenizer grow its memory.
        other.feed(encoder.encode('<m>' + 'x'.repeat(1 << 21)));
        expect(instance.memory.buffer.byteLength).toBeGreaterThan(before);
        got.push(v.attr('to'), v.attr('id'), v.attr('type'), v.local, decoder.decode(v.raw));
      },
    }, {}, instance);
    stream.feed(encoder.encode(HEADER + "<message to='jid@example.com/r' id='é1' type='chat'/>"));
    expect(got).toEqual(['jid@example.com/r', 'é1', 'chat', 'message', "<message to='jid@example.com/r' id='é1' type='chat'/>"]);
    stream.free();
    other.free();
  });
});
