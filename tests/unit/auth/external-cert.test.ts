// Client certificate verification for SASL EXTERNAL, on certificates made by openssl:
// trust (cafile or self-signed), validity dates, key usage, unknown critical extensions,
// and the identities read from them.

import { afterAll, describe, expect, test } from 'bun:test';
import { X509Certificate } from 'node:crypto';
import { createClientCertificateVerifier, parseCaBundle, type ClientCertificateVerdict } from '../../../server/auth/cert/verify.ts';
import { createCertKit, opensslDate, type PemFiles } from '../../integration/external/certs.ts';

const kit = createCertKit();
afterAll(() => kit.remove());

const der = (pem: PemFiles): Uint8Array => new Uint8Array(new X509Certificate(pem.cert).raw);
const peer = createClientCertificateVerifier('peer', kit.ca.cert);
const selfsigned = createClientCertificateVerifier('selfsigned_peer', kit.ca.cert);
const verify = (pem: PemFiles, v = peer, tlsAuthorized = true): ClientCertificateVerdict => v.verify({ der: der(pem), tlsAuthorized });

function reason(verdict: ClientCertificateVerdict): string {
  if (verdict.ok) throw new Error('expected a refusal');
  return verdict.reason;
}

const alice = kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] });

describe('trust', () => {
  test('a certificate from the cafile CA is accepted, with its identities', () => {
    const verdict = verify(alice);
    expect(verdict.ok).toBe(true);
    if (verdict.ok) {
      expect(verdict.certificate.trust).toBe('ca');
      expect(verdict.certificate.xmppAddrs).toEqual(['alice@localhost']);
      expect(verdict.certificate.commonName).toBe('alice');
      expect(verdict.certificate.raw).toEqual(der(alice));
    }
  });

  test('our check and the TLS library must agree', () => {
    expect(reason(verify(alice, peer, false))).toContain('TLS layer');
  });

  test('a certificate from another CA is refused', () => {
    const stranger = kit.client('stranger', { cn: 'stranger', xmppAddrs: ['alice@localhost'], issuer: kit.otherCa });
    expect(reason(verify(stranger))).toBe('not issued by a trusted CA');
    expect(reason(verify(stranger, selfsigned))).toBe('not issued by a trusted CA');
  });

  test('a certificate signed by a non-CA certificate of the cafile is refused', () => {
    const signer = kit.client('signer', { cn: 'signer', xmppAddrs: ['signer@localhost'] });
    const child = kit.client('child', { cn: 'child', xmppAddrs: ['alice@localhost'], issuer: signer });
    const v = createClientCertificateVerifier('peer', signer.cert + kit.ca.cert);
    expect(reason(verify(child, v))).toBe('issuer is not a CA');
  });

  test('self-signed: refused by "peer", accepted by "selfsigned_peer"', () => {
    const self = kit.client('self', { cn: 'self', xmppAddrs: ['self@localhost'], selfSigned: true });
    expect(reason(verify(self))).toBe('not issued by a trusted CA');
    // The TLS library cannot chain a self-signed certificate: its verdict does not matter here.
    const verdict = verify(self, selfsigned, false);
    expect(verdict.ok && verdict.certificate.trust).toBe('self-signed');
  });

  test('"selfsigned_peer" still accepts CA-issued certificates', () => {
    expect(verify(alice, selfsigned).ok).toBe(true);
  });

  test('verify_mode "none" verifies nothing', () => {
    const none = createClientCertificateVerifier('none', kit.ca.cert);
    expect(none.requestsCertificates).toBe(false);
    expect(verify(alice, none).ok).toBe(false);
  });

  test('no certificate → refused', () => {
    expect(peer.verify({ der: undefined, tlsAuthorized: false })).toEqual({ ok: false, reason: 'no client certificate' });
  });

  test('garbage instead of a certificate → refused', () => {
    expect(peer.verify({ der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), tlsAuthorized: true })).toEqual({ ok: false, reason: 'certificate does not parse' });
  });

  test('"peer" needs a cafile', () => {
    expect(() => createClientCertificateVerifier('peer', undefined)).toThrow(/cafile/);
  });

  test('a cafile bundle holds several CAs', () => {
    expect(parseCaBundle(kit.ca.cert + kit.otherCa.cert)).toHaveLength(2);
    const stranger = kit.client('stranger2', { cn: 'x', xmppAddrs: ['x@localhost'], issuer: kit.otherCa });
    expect(verify(stranger, createClientCertificateVerifier('peer', kit.ca.cert + kit.otherCa.cert)).ok).toBe(true);
  });
});

describe('dates', () => {
  test('an expired certificate is refused', () => {
    const expired = kit.client('expired', { cn: 'expired', xmppAddrs: ['expired@localhost'], startDate: '20200101000000Z', endDate: '20200201000000Z' });
    expect(reason(verify(expired))).toBe('certificate has expired');
  });

  test('a certificate not yet valid is refused', () => {
    const now = Date.now();
    const future = kit.client('future', { cn: 'future', xmppAddrs: ['future@localhost'], startDate: opensslDate(now + 86_400_000), endDate: opensslDate(now + 2 * 86_400_000) });
    expect(reason(verify(future))).toBe('certificate is not yet valid');
  });

  test('an expired CA makes its certificates unusable', () => {
    const later = new Date(Date.now() + 60 * 86_400_000);
    const longLived = kit.client('longlived', { cn: 'l', xmppAddrs: ['l@localhost'], endDate: opensslDate(Date.now() + 90 * 86_400_000) });
    // The test CA is valid for 30 days.
    expect(peer.verify({ der: der(longLived), tlsAuthorized: true }, later)).toEqual({ ok: false, reason: 'issuer has expired' });
  });
});

describe('usage and extensions', () => {
  test('extendedKeyUsage serverAuth only → refused', () => {
    const server = kit.client('eku-server', { cn: 'x', xmppAddrs: ['x@localhost'], eku: 'serverAuth' });
    expect(reason(verify(server))).toBe('extendedKeyUsage does not allow TLS client authentication');
  });

  test('serverAuth with clientAuth, no EKU at all, or anyExtendedKeyUsage → accepted', () => {
    expect(verify(kit.client('eku-both', { cn: 'x', xmppAddrs: ['x@localhost'], eku: 'serverAuth,clientAuth' })).ok).toBe(true);
    expect(verify(kit.client('eku-none', { cn: 'x', xmppAddrs: ['x@localhost'], eku: null })).ok).toBe(true);
    expect(verify(kit.client('eku-any', { cn: 'x', xmppAddrs: ['x@localhost'], eku: 'anyExtendedKeyUsage' })).ok).toBe(true);
  });

  test('self-signed with the wrong EKU is refused even by "selfsigned_peer"', () => {
    const self = kit.client('self-eku', { cn: 'x', xmppAddrs: ['x@localhost'], eku: 'serverAuth', selfSigned: true });
    expect(reason(verify(self, selfsigned, false))).toBe('extendedKeyUsage does not allow TLS client authentication');
  });

  test('an unknown critical extension → refused', () => {
    const crit = kit.client('crit', { cn: 'x', xmppAddrs: ['x@localhost'], extra: ['1.2.3.4.5=critical,ASN1:UTF8String:hello'] });
    expect(reason(verify(crit))).toBe('unhandled critical extension 1.2.3.4.5');
  });

  test('the same extension, not critical → accepted', () => {
    expect(verify(kit.client('noncrit', { cn: 'x', xmppAddrs: ['x@localhost'], extra: ['1.2.3.4.5=ASN1:UTF8String:hello'] })).ok).toBe(true);
  });
});

describe('identities', () => {
  test('two xmppAddrs, in certificate order', () => {
    const two = kit.client('two', { cn: 'two', xmppAddrs: ['alice@localhost', 'bob@localhost'] });
    const verdict = verify(two);
    expect(verdict.ok && verdict.certificate.xmppAddrs).toEqual(['alice@localhost', 'bob@localhost']);
  });

  test('a CN-only certificate has no xmppAddr', () => {
    const verdict = verify(kit.client('cn-only', { cn: 'carol' }));
    expect(verdict.ok && verdict.certificate).toMatchObject({ xmppAddrs: [], commonName: 'carol' });
  });

  test('other SAN entries are not xmppAddrs', () => {
    const verdict = verify(kit.client('dns-san', { cn: 'x', san: 'DNS:alice.localhost,email:alice@localhost' }));
    expect(verdict.ok && verdict.certificate.xmppAddrs).toEqual([]);
  });

  test('non-ASCII xmppAddrs survive (UTF8String)', () => {
    const verdict = verify(kit.client('utf8', { cn: 'x', xmppAddrs: ['jürgen@localhost'] }));
    expect(verdict.ok && verdict.certificate.xmppAddrs).toEqual(['jürgen@localhost']);
  });

  test('an xmppAddr that is not a UTF8String makes the certificate unusable', () => {
    const ia5 = kit.client('ia5', { cn: 'x', san: 'otherName:1.3.6.1.5.5.7.8.5;IA5STRING:alice@localhost' });
    expect(reason(verify(ia5))).toBe('certificate does not parse');
  });
});
