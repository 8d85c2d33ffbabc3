import { describe, expect, test } from 'bun:test';
import {
  KNOWN_MECHANISMS,
  createMechanismRegistry,
  type SaslConnectionInfo,
  type SaslMechanism,
} from '../../../server/auth/sasl/index.ts';
import { makeContext } from './helpers.ts';

const plainText: SaslConnectionInfo = { channelBinding: undefined };
const tlsNoBinding: SaslConnectionInfo = { channelBinding: {} };
const tlsExporter: SaslConnectionInfo = { channelBinding: { 'tls-exporter': new Uint8Array(32) } };

describe('mechanism offering', () => {
  const registry = createMechanismRegistry();

  test('unencrypted: SCRAM only, no PLAIN, no -PLUS', () => {
    expect(registry.offered(plainText)).toEqual(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1']);
  });

  test('TLS without binding data: SCRAM and PLAIN, no -PLUS', () => {
    expect(registry.offered(tlsNoBinding)).toEqual(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  });

  test('TLS with binding data: -PLUS first, strongest first', () => {
    expect(registry.offered(tlsExporter)).toEqual([
      'SCRAM-SHA-512-PLUS', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN',
    ]);
  });

  test('any supported binding type enables -PLUS', () => {
    expect(registry.offered({ channelBinding: { 'tls-server-end-point': new Uint8Array(32) } })).toContain('SCRAM-SHA-256-PLUS');
    expect(registry.offered({ channelBinding: { 'tls-unique': new Uint8Array(12) } })).toContain('SCRAM-SHA-256-PLUS');
  });

  test('configured list sets both the selection and the order', () => {
    const r = createMechanismRegistry({ sasl_mechanisms: ['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256-PLUS'] });
    expect(r.offered(tlsExporter)).toEqual(['PLAIN', 'SCRAM-SHA-1', 'SCRAM-SHA-256-PLUS']);
    expect(r.offered(plainText)).toEqual(['SCRAM-SHA-1']);
  });

  test('allow_unencrypted_plain offers PLAIN without TLS (and nothing else changes)', () => {
    const r = createMechanismRegistry({ allow_unencrypted_plain: true });
    expect(r.offered(plainText)).toEqual(['SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']);
  });

  test('configuration errors name the option', () => {
    expect(() => createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-256', 'DIGEST-MD5'] })).toThrow('sasl_mechanisms: unknown mechanism "DIGEST-MD5"');
    expect(() => createMechanismRegistry({ sasl_mechanisms: ['PLAIN', 'PLAIN'] })).toThrow('listed twice');
  });
});

describe('starting a mechanism', () => {
  const registry = createMechanismRegistry();

  test('an offered mechanism starts', async () => {
    const started = registry.start('SCRAM-SHA-256', makeContext());
    expect(started.ok).toBe(true);
    if (started.ok) expect((await started.exchange.step(null)).kind).toBe('challenge');
  });

  test('an unknown or unconfigured name → invalid-mechanism', () => {
    const r = createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-256'] });
    for (const name of ['DIGEST-MD5', 'SCRAM-SHA-1', 'scram-sha-256', '']) {
      const started = r.start(name, makeContext({ channelBinding: {} }));
      expect(started.ok === false && started.step.condition).toBe('invalid-mechanism');
    }
  });

  test('PLAIN or -PLUS without TLS → encryption-required', () => {
    for (const name of ['PLAIN', 'SCRAM-SHA-256-PLUS']) {
      const started = registry.start(name, makeContext());
      expect(started.ok === false && started.step.condition).toBe('encryption-required');
    }
  });

  test('-PLUS on TLS without binding data → invalid-mechanism (it was not offered)', () => {
    const started = registry.start('SCRAM-SHA-256-PLUS', makeContext({ channelBinding: {} }));
    expect(started.ok === false && started.step.condition).toBe('invalid-mechanism');
  });

  test('a too-short server secret is refused when any exchange starts, not only for unknown users', () => {
    const ctx = { ...makeContext({ channelBinding: {} }), serverSecret: new Uint8Array(8) };
    for (const name of ['PLAIN', 'SCRAM-SHA-256']) expect(() => registry.start(name, ctx)).toThrow('serverSecret');
  });

  test('PLAIN without TLS starts when allowed by configuration', () => {
    const r = createMechanismRegistry({ allow_unencrypted_plain: true });
    expect(r.start('PLAIN', makeContext()).ok).toBe(true);
  });
});

describe('extension point for EXTERNAL', () => {
  test('a mechanism that needs the peer certificate is offered only when there is one', () => {
    const external: SaslMechanism = {
      name: 'EXTERNAL',
      requiresTls: true,
      requiresChannelBinding: false,
      isAvailable: (conn) => conn.peerCertificate !== undefined,
      start: () => ({ step: async () => ({ kind: 'failure', condition: 'not-authorized' }) }),
    };
    const r = createMechanismRegistry({ sasl_mechanisms: ['EXTERNAL', 'SCRAM-SHA-256'] }, [...KNOWN_MECHANISMS, external]);
    expect(r.offered(tlsNoBinding)).toEqual(['SCRAM-SHA-256']);
    expect(r.offered({ channelBinding: {}, peerCertificate: { raw: new Uint8Array([0x30]) } })).toEqual(['EXTERNAL', 'SCRAM-SHA-256']);
  });
});
