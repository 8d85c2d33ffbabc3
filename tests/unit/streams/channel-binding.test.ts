// Channel binding data is computed lazily, once per connection: offering and starting a
// mechanism without -PLUS touches neither the exporter nor the certificate, and -PLUS
// reads only the binding type it uses.

import { describe, expect, test } from 'bun:test';
import { createHash, X509Certificate } from 'node:crypto';
import { channelBindingFor } from '../../../server/streams/channel-binding.ts';
import { createMechanismRegistry } from '../../../server/auth/sasl/registry.ts';
import { createSelfSigned } from '../../../server/tls/certs.ts';
import type { TlsInfo } from '../../../server/runtime/types.ts';

const pem = await createSelfSigned({ dnsNames: ['localhost'] });
const der = new Uint8Array(new X509Certificate(pem.cert).raw);

function fakeTls(exporter: Uint8Array | 'none' = new Uint8Array(32).fill(9)) {
  const calls = { exporter: 0, certificate: 0 };
  const tls: TlsInfo = {
    version: 'TLSv1.3',
    exportKeyingMaterial: () => {
      calls.exporter++;
      return exporter === 'none' ? undefined : exporter;
    },
    localCertificate: () => {
      calls.certificate++;
      return der;
    },
    peerCertificate: () => undefined,
    peerAuthorized: false,
    peerAuthorizationError: undefined,
  };
  return { tls, calls };
}

describe('channel binding data', () => {
  test('nothing is computed until a mechanism reads it, and each value once per connection', () => {
    const { tls, calls } = fakeTls();
    const data = channelBindingFor(tls)!;
    expect(channelBindingFor(tls)).toBe(data);
    expect(calls).toEqual({ exporter: 0, certificate: 0 });
    expect(data['tls-exporter']).toEqual(new Uint8Array(32).fill(9));
    expect(data['tls-exporter']).toEqual(new Uint8Array(32).fill(9));
    expect(calls).toEqual({ exporter: 1, certificate: 0 });
    // ECDSA with SHA-256: the end-point value is SHA-256 of the DER (RFC 5929 §4.1).
    expect(data['tls-server-end-point']).toEqual(new Uint8Array(createHash('sha256').update(der).digest()));
    expect(channelBindingFor(tls)!['tls-server-end-point']).toBeDefined();
    expect(calls).toEqual({ exporter: 1, certificate: 1 });
    expect(data['tls-unique']).toBeUndefined();
  });

  test('an exporter of the wrong length, or none, is no binding data', () => {
    expect(channelBindingFor(fakeTls(new Uint8Array(12)).tls)!['tls-exporter']).toBeUndefined();
    expect(channelBindingFor(fakeTls('none').tls)!['tls-exporter']).toBeUndefined();
    expect(channelBindingFor(undefined)).toBeUndefined();
  });

  test('without -PLUS configured, offering mechanisms reads no binding data', () => {
    const { tls, calls } = fakeTls();
    const registry = createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-1', 'PLAIN'] });
    expect(registry.offered({ channelBinding: channelBindingFor(tls) })).toEqual(['SCRAM-SHA-1', 'PLAIN']);
    expect(calls).toEqual({ exporter: 0, certificate: 0 });
  });

  test('with -PLUS configured, offering reads the exporter but not the certificate', () => {
    const { tls, calls } = fakeTls();
    const registry = createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(registry.offered({ channelBinding: channelBindingFor(tls) })).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    expect(calls).toEqual({ exporter: 1, certificate: 0 });
  });

  test('-PLUS is still offered with only the certificate binding available', () => {
    const { tls, calls } = fakeTls('none');
    const registry = createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(registry.offered({ channelBinding: channelBindingFor(tls) })).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    expect(calls).toEqual({ exporter: 1, certificate: 1 });
  });
});
