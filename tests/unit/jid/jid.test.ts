import { describe, expect, test } from 'bun:test';
import { Jid, JidError, type JidPart, jidCacheSize, makeJid, parseJid, tryParseJid } from '../../../server/jid.ts';
import { opaqueString, PrecisFailure, usernameCaseMapped, utf8Length } from '../../../server/jid/precis.ts';

// [input, normalized] — RFC 7622 §3 and RFC 8265 behaviour.
const VALID: Array<[string, string]> = [
  ['juliet@example.com', 'juliet@example.com'],
  ['Juliet@Example.COM/Balcony', 'juliet@example.com/Balcony'],
  ['example.com', 'example.com'],
  ['example.com.', 'example.com'],
  ['example.com/resource', 'example.com/resource'],
  ['juliet@example.com/foo/bar@baz', 'juliet@example.com/foo/bar@baz'],
  ['a/b@example.com', 'a/b@example.com'], // the first '/' starts the resource: domain "a"
  ['juliet@example.com/ foo bar ', 'juliet@example.com/ foo bar '],
  ['juliet+tag.x_y-z!#$%*=?^`{|}~@example.com', 'juliet+tag.x_y-z!#$%*=?^`{|}~@example.com'],
  ['ＪＵＬＩＥＴ@example.com', 'juliet@example.com'], // width mapping, then case mapping
  ['ｶﾞ@example.com', 'ガ@example.com'], // halfwidth katakana + voiced mark → one composed character
  ['ΠΑΣ@example.com', 'πας@example.com'], // toLowerCase with final sigma
  ['fußball@example.com', 'fußball@example.com'], // ß is PVALID by exception, not folded
  ['e\u0301@example.com/e\u0301', '\u00e9@example.com/\u00e9'], // NFC in both parts
  ['col·lega@example.com', 'col·lega@example.com'], // CONTEXTO middle dot between l's
  ['שלום@example.com', 'שלום@example.com'], // right-to-left label
  ['juliet@example.com/\u00a0x\u2003y', 'juliet@example.com/ x y'], // non-ASCII spaces → U+0020
  ['juliet@example.com/♚ﬁ', 'juliet@example.com/♚ﬁ'], // symbols and compatibility characters are fine in resources
  ['juliet@BÜCHER.example', 'juliet@bücher.example'],
  ['juliet@xn--bcher-kva.example', 'juliet@bücher.example'], // A-labels compare as U-labels
  ['juliet@example\u3002com', 'juliet@example.com'], // ideographic full stop is a label separator
  ['juliet@192.168.0.1', 'juliet@192.168.0.1'],
  ['juliet@[2001:DB8::1]', 'juliet@[2001:db8::1]'],
  ['[::ffff:192.0.2.1]', '[::ffff:192.0.2.1]'],
  ['a-b.c0.example', 'a-b.c0.example'],
];

// [input, part that fails]
const INVALID: Array<[string, JidPart]> = [
  ['', 'domain'],
  ['@example.com', 'local'],
  ['juliet@', 'domain'],
  ['juliet@example.com/', 'resource'],
  ['example.com/', 'resource'],
  ['a"b@example.com', 'local'],
  ['a&b@example.com', 'local'],
  ["a'b@example.com", 'local'],
  ['a:b@example.com', 'local'],
  ['a<b@example.com', 'local'],
  ['a>b@example.com', 'local'],
  ['a b@example.com', 'local'], // space is not in IdentifierClass
  ['a\u0007b@example.com', 'local'],
  ['♚@example.com', 'local'], // symbol
  ['ﬁ@example.com', 'local'], // has a compatibility decomposition
  ['\u1100@example.com', 'local'], // old Hangul jamo
  ['a\u200db@example.com', 'local'], // join control without a context we can check
  ['a·b@example.com', 'local'], // middle dot not between l's
  ['\u0661\u06f1@example.com', 'local'], // Arabic-Indic and extended Arabic-Indic digits mixed
  ['שלוםabc@example.com', 'local'], // Bidi rule: left-to-right letters in a right-to-left label
  ['\u0378@example.com', 'local'], // unassigned
  ['example.com/\u0001', 'resource'],
  ['example.com/a\u200bb', 'resource'], // default ignorable
  ['example.com/\ufdd0', 'resource'], // noncharacter
  ['a@b@example.com', 'domain'],
  ['exa mple.com', 'domain'],
  ['example..com', 'domain'],
  ['-example.com', 'domain'],
  ['example-.com', 'domain'],
  ['exa_mple.com', 'domain'],
  ['256.1.1.1', 'domain'],
  ['[::1', 'domain'],
  ['[1:2:3:4:5:6:7:8:9]', 'domain'],
  ['[1::2::3]', 'domain'],
  ['[gggg::1]', 'domain'],
  ['xn--zz.example', 'domain'], // malformed A-label
  ['.', 'domain'],
];

describe('JID parsing', () => {
  test.each(VALID)('%p is valid and normalizes to %p', (input, expected) => {
    const jid = parseJid(input);
    expect(jid.toString()).toBe(expected);
    expect(tryParseJid(input)?.toString()).toBe(expected);
    // Normalization is idempotent: the output parses to itself.
    expect(parseJid(expected).toString()).toBe(expected);
  });

  test.each(INVALID)('%p is invalid (%s part)', (input, part) => {
    expect(tryParseJid(input)).toBeUndefined();
    let caught: unknown;
    try {
      parseJid(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(JidError);
    expect((caught as JidError).part).toBe(part);
  });

  test('parts are exposed with absent parts as empty strings', () => {
    const full = parseJid('Romeo@Montague.lit/Orchard');
    expect([full.local, full.domain, full.resource]).toEqual(['romeo', 'montague.lit', 'Orchard']);
    expect(full.isBare).toBe(false);
    const domain = parseJid('montague.lit');
    expect([domain.local, domain.resource]).toEqual(['', '']);
    expect(domain.isDomain).toBe(true);
  });

  test('bare() drops the resource, is cached, and is the same object for a bare JID', () => {
    const full = parseJid('romeo@montague.lit/orchard');
    expect(full.bare().toString()).toBe('romeo@montague.lit');
    expect(full.bare()).toBe(full.bare());
    const bare = parseJid('romeo@montague.lit');
    expect(bare.bare()).toBe(bare);
  });

  test('equals compares normalized forms', () => {
    expect(parseJid('ROMEO@Montague.LIT/x').equals(parseJid('romeo@montague.lit/x'))).toBe(true);
    expect(parseJid('romeo@montague.lit/x').equals(parseJid('romeo@montague.lit/X'))).toBe(false);
    expect(parseJid('romeo@montague.lit').equals(undefined)).toBe(false);
    expect(new Jid('a', 'b', '').equals(new Jid('a', 'b', ''))).toBe(true);
  });

  test('repeated parses of the same text return the cached object', () => {
    expect(tryParseJid('nurse@capulet.lit/chamber')).toBe(tryParseJid('nurse@capulet.lit/chamber')!);
  });

  test('makeJid validates and normalizes each part', () => {
    expect(makeJid('Juliet', 'Capulet.LIT', 'balcony').toString()).toBe('juliet@capulet.lit/balcony');
    expect(makeJid('', 'capulet.lit').toString()).toBe('capulet.lit');
    expect(() => makeJid('a@b', 'capulet.lit')).toThrow(JidError);
    expect(parseJid('juliet@capulet.lit').withResource('r2').toString()).toBe('juliet@capulet.lit/r2');
  });
});

describe('JID length limits (1023 bytes per part)', () => {
  test('localpart', () => {
    expect(tryParseJid('a'.repeat(1023) + '@example.com')).toBeDefined();
    expect(parseJidPart('a'.repeat(1024) + '@example.com')).toBe('local');
    // é is two bytes in UTF-8: 511 × 2 = 1022 fits, 512 × 2 = 1024 does not
    expect(tryParseJid('é'.repeat(511) + '@example.com')).toBeDefined();
    expect(parseJidPart('é'.repeat(512) + '@example.com')).toBe('local');
  });

  test('resourcepart', () => {
    expect(tryParseJid('example.com/' + 'r'.repeat(1023))).toBeDefined();
    expect(parseJidPart('example.com/' + 'r'.repeat(1024))).toBe('resource');
    expect(parseJidPart('example.com/' + '€'.repeat(342))).toBe('resource'); // 3 bytes each: 1026
  });

  test('domainpart: labels of at most 63, whole name of at most 1023', () => {
    expect(tryParseJid('a'.repeat(63) + '.example')).toBeDefined();
    expect(parseJidPart('a'.repeat(64) + '.example')).toBe('domain');
    const label = 'a'.repeat(63);
    const d1023 = Array(16).fill(label).join('.'); // 16 × 63 + 15 dots = 1023
    expect(tryParseJid(d1023)).toBeDefined();
    expect(parseJidPart(d1023 + '.b')).toBe('domain');
  });

  test('input longer than any valid JID fails before normalization', () => {
    expect(parseJidPart('a'.repeat(5000))).toBe('jid');
  });
});

describe('PRECIS profiles', () => {
  test('UsernameCaseMapped', () => {
    expect(usernameCaseMapped('ABC')).toBe('abc');
    expect(usernameCaseMapped('Ｈｅｌｌｏ')).toBe('hello');
    expect(usernameCaseMapped('İ')).toBe('i\u0307'); // toLowerCase, then NFC
    expect(usernameCaseMapped('')).toBeInstanceOf(PrecisFailure);
    expect(usernameCaseMapped('a\u3000b')).toBeInstanceOf(PrecisFailure); // ideographic space → U+0020 → not allowed
    expect(usernameCaseMapped('\u0375α')).toBe('\u0375α'); // Greek keraia before Greek
    expect(usernameCaseMapped('\u0375a')).toBeInstanceOf(PrecisFailure);
    expect(usernameCaseMapped('ア\u30fbイ')).toBe('ア\u30fbイ'); // katakana middle dot with kana around
    expect(usernameCaseMapped('a\u30fbb')).toBeInstanceOf(PrecisFailure);
  });

  test('OpaqueString keeps case and width', () => {
    expect(opaqueString('Ａbc')).toBe('Ａbc');
    expect(opaqueString('Mixed Case')).toBe('Mixed Case');
    expect(opaqueString('')).toBeInstanceOf(PrecisFailure);
    expect(opaqueString('tab\there')).toBeInstanceOf(PrecisFailure);
  });

  test('utf8Length counts encoded bytes', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀é€']) expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
  });
});

function parseJidPart(input: string): string | undefined {
  try {
    parseJid(input);
    return undefined;
  } catch (err) {
    return (err as JidError).part;
  }
}

describe('JID cache', () => {
  test('stays bounded however many distinct addresses pass through', () => {
    for (let i = 0; i < 40000; i++) tryParseJid(`u${i}@example.com/r`);
    expect(jidCacheSize()).toBeLessThanOrEqual(16384);
    // recently used entries survive a generation change
    const j = tryParseJid('u39999@example.com/r');
    expect(tryParseJid('u39999@example.com/r')).toBe(j!);
  });

  test('very long addresses are parsed but not cached', () => {
    const long = 'a'.repeat(300) + '@example.com';
    expect(tryParseJid(long)).not.toBe(tryParseJid(long)!);
    expect(tryParseJid(long)!.equals(tryParseJid(long))).toBe(true);
  });
});
