import { describe, expect, test } from 'bun:test';
import { Element, serialize, xml } from '../../../server/xml/element.ts';
import { escapeAttribute, escapeText, XmlCharacterError } from '../../../server/xml/escape.ts';

describe('escaping', () => {
  test('text escapes &, <, > and CR (a raw CR would be read back as LF)', () => {
    expect(escapeText('a&b<c>d\re')).toBe('a&amp;b&lt;c&gt;d&#13;e');
    expect(escapeText(']]>')).toBe(']]&gt;');
    expect(escapeText('plain text, é, 漢字, 🦦')).toBe('plain text, é, 漢字, 🦦');
  });

  test('attributes also escape quotes and TAB/LF/CR so normalization gives them back', () => {
    expect(escapeAttribute(`"'\t\n\r&<>`)).toBe('&quot;&apos;&#9;&#10;&#13;&amp;&lt;&gt;');
  });

  test('characters XML cannot carry are refused, not dropped', () => {
    expect(() => escapeText('a\u0000b')).toThrow(XmlCharacterError);
    expect(() => escapeText('\uFFFE')).toThrow(XmlCharacterError);
    expect(() => escapeAttribute('\uD800')).toThrow(XmlCharacterError); // lone surrogate
    expect(() => escapeText('x\uDC00')).toThrow(XmlCharacterError);
    expect(escapeText('🦦&')).toBe('🦦&amp;'); // a valid pair passes through the slow path
  });
});

describe('Element', () => {
  test('builder, namespaces inherited from ancestors, child lookup', () => {
    const iq = xml('iq', { type: 'result', id: '1' }, xml('query', { xmlns: 'jabber:iq:roster' }, xml('item', { jid: 'a@b' })));
    const item = iq.getChild('query', 'jabber:iq:roster')!.getChild('item')!;
    expect(item.ns).toBe('jabber:iq:roster');
    expect(item.attr('jid')).toBe('a@b');
    expect(iq.getChild('query', 'other')).toBeUndefined();
  });

  test('serializes with escaping, self-closing empty elements, undefined attributes left out', () => {
    const m = xml('message', { to: 'b@x', type: undefined }, xml('body', {}, 'a < b & "c"'));
    expect(m.toString()).toBe(`<message to='b@x'><body>a &lt; b &amp; "c"</body></message>`);
  });

  test('clone is deep, detached and keeps the namespace it had in scope', () => {
    const root = xml('x', { xmlns: 'urn:a' }, xml('y', {}, 't'));
    const y = root.getChild('y')!;
    const copy = y.clone();
    expect(copy.parent).toBeUndefined();
    expect(copy.ns).toBe('urn:a');
    copy.t('more');
    expect(y.text).toBe('t');
  });

  test('a very deep tree serializes without exhausting the stack', () => {
    let leaf = new Element('d');
    const root = leaf;
    for (let i = 0; i < 200_000; i++) leaf = leaf.c('d');
    const s = serialize(root);
    expect(s.length).toBe(200_000 * 7 + 4);
  });
});
