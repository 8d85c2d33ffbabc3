import { describe, expect, test } from 'bun:test';
import { decodeBase64Strict, decodeUtf8Strict } from '../../../server/auth/sasl/encoding.ts';
import { decodeSaslPayload, encodeSaslPayload } from '../../../server/auth/sasl/index.ts';
import { decodeSaslname } from '../../../server/auth/sasl/scram/messages.ts';

describe('SASL payload encoding (RFC 6120 §6.4.2)', () => {
  test('empty element content is no data, "=" is empty data', () => {
    expect(decodeSaslPayload('')).toEqual({ ok: true, data: null });
    expect(decodeSaslPayload('=')).toEqual({ ok: true, data: new Uint8Array(0) });
    expect(decodeSaslPayload('AGp1bGlldAB4')).toEqual({ ok: true, data: new Uint8Array([0, 0x6a, 0x75, 0x6c, 0x69, 0x65, 0x74, 0, 0x78]) });
  });

  test('bad base64 → incorrect-encoding', () => {
    for (const bad of ['AGp1 bGll', 'AGp1bGll\n', 'AGp', 'AG==AA==', 'AB==', '====', 'A===']) {
      expect(decodeSaslPayload(bad)).toEqual({ ok: false, condition: 'incorrect-encoding' });
    }
  });

  test('encoding mirrors decoding', () => {
    expect(encodeSaslPayload(undefined)).toBe('');
    expect(encodeSaslPayload(new Uint8Array(0))).toBe('=');
    expect(encodeSaslPayload(new Uint8Array([1, 2, 3]))).toBe('AQID');
  });

  test('strict base64 accepts canonical padded input only', () => {
    expect(decodeBase64Strict('')).toEqual(new Uint8Array(0));
    expect(decodeBase64Strict('AQ==')).toEqual(new Uint8Array([1]));
    expect(decodeBase64Strict('AR==')).toBeUndefined();
    expect(decodeBase64Strict('AQ')).toBeUndefined();
    expect(decodeBase64Strict('AQ-_')).toBeUndefined();
  });
});

describe('strict UTF-8', () => {
  test('valid text, including a leading BOM kept as data', () => {
    expect(decodeUtf8Strict(new Uint8Array([0xc3, 0xa9]))).toBe('\u00e9');
    expect(decodeUtf8Strict(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]))).toBe('\uFEFFa');
  });

  test('overlong forms, encoded surrogates and truncated sequences are refused', () => {
    expect(decodeUtf8Strict(new Uint8Array([0xc0, 0xaf]))).toBeUndefined();
    expect(decodeUtf8Strict(new Uint8Array([0xed, 0xa0, 0x80]))).toBeUndefined();
    expect(decodeUtf8Strict(new Uint8Array([0xe2, 0x82]))).toBeUndefined();
  });
});

describe('saslname (RFC 5802 §7)', () => {
  test('decodes =2C and =3D', () => {
    expect(decodeSaslname('a=2Cb=3Dc')).toBe('a,b=c');
    expect(decodeSaslname('plain')).toBe('plain');
  });

  test('refuses empty names, other escapes, bare commas', () => {
    for (const bad of ['', '=', '=2', '=2c', '=41', 'a,b', 'a=']) expect(decodeSaslname(bad)).toBeUndefined();
  });
});
