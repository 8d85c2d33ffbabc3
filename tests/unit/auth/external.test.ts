// SASL EXTERNAL identity rules (XEP-0178) over certificates already verified: what each
// `[auth] sasl_external` method accepts and which failure condition each refusal gets.

import { describe, expect, test } from 'bun:test';
import type { StoredCredentials } from '../../../server/auth/credentials.ts';
import {
  createExternalMechanism,
  createMechanismRegistry,
  type ExternalOptions,
  type PeerCertificate,
  type SaslFailureCondition,
  type SaslStep,
} from '../../../server/auth/sasl/index.ts';
import { makeContext, utf8 } from './helpers.ts';

// Certificate-only accounts have no stored password: existence is what counts.
const users: Record<string, StoredCredentials> = { alice: {}, bob: {}, carol: {}, emp_dave: {}, dave: {} };

const cert = (xmppAddrs: string[], commonName?: string): PeerCertificate =>
  commonName === undefined ? { raw: new Uint8Array([0x30]), xmppAddrs } : { raw: new Uint8Array([0x30]), xmppAddrs, commonName };

async function external(
  peer: PeerCertificate | undefined,
  authzid: string | null,
  options: ExternalOptions = { methods: ['standard'] },
  extra: Parameters<typeof makeContext>[0] = {},
): Promise<SaslStep> {
  const ctx = { ...makeContext({ users, host: 'example.com', channelBinding: {}, ...extra }), peerCertificate: peer };
  const exchange = createExternalMechanism(options).start(ctx);
  return exchange.step(authzid === null ? null : utf8(authzid));
}

function expectFailure(step: SaslStep, condition: SaslFailureCondition): void {
  expect(step.kind).toBe('failure');
  if (step.kind === 'failure') expect(step.condition).toBe(condition);
}

describe('EXTERNAL, standard (id-on-xmppAddr)', () => {
  test('one xmppAddr of this domain and an empty authzid log in as that JID', async () => {
    expect(await external(cert(['alice@example.com']), '')).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('the authzid naming the xmppAddr is accepted and reported', async () => {
    expect(await external(cert(['alice@example.com']), 'alice@example.com')).toEqual({ kind: 'success', authcid: 'alice', authzid: 'alice@example.com' });
  });

  test('the domain of the xmppAddr is compared after normalization', async () => {
    expect(await external(cert(['Alice@EXAMPLE.com']), '')).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('several xmppAddrs and no authzid → invalid-authzid', async () => {
    expectFailure(await external(cert(['alice@example.com', 'bob@example.com']), ''), 'invalid-authzid');
  });

  test('several xmppAddrs: an authzid in the list chooses one', async () => {
    expect(await external(cert(['alice@example.com', 'bob@example.com']), 'bob@example.com')).toMatchObject({ kind: 'success', authcid: 'bob' });
  });

  test('an authzid not in the certificate → not-authorized', async () => {
    expectFailure(await external(cert(['alice@example.com']), 'bob@example.com'), 'not-authorized');
  });

  test('an xmppAddr of another domain → not-authorized', async () => {
    expectFailure(await external(cert(['alice@elsewhere.example']), ''), 'not-authorized');
  });

  test('an authzid of another domain → invalid-authzid', async () => {
    expectFailure(await external(cert(['alice@example.com']), 'alice@elsewhere.example'), 'invalid-authzid');
  });

  test('a full JID or a domain as authzid → invalid-authzid', async () => {
    expectFailure(await external(cert(['alice@example.com']), 'alice@example.com/phone'), 'invalid-authzid');
    expectFailure(await external(cert(['alice@example.com']), 'example.com'), 'invalid-authzid');
  });

  test('the same xmppAddr twice counts once', async () => {
    expect(await external(cert(['alice@example.com', 'alice@example.com']), '')).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('an xmppAddr that is not a user JID is ignored', async () => {
    expectFailure(await external(cert(['example.com']), ''), 'not-authorized');
    expectFailure(await external(cert(['not a jid@example.com']), ''), 'not-authorized');
  });

  test('a user without an account → not-authorized, after a lookup', async () => {
    const lookups: string[] = [];
    expectFailure(await external(cert(['zoe@example.com']), '', { methods: ['standard'] }, { lookups }), 'not-authorized');
    expect(lookups).toEqual(['zoe']);
  });

  test('user_must_exist = false lets the certificate alone decide', async () => {
    expect(await external(cert(['zoe@example.com']), '', { methods: ['standard'], requireExistingUser: false })).toEqual({ kind: 'success', authcid: 'zoe' });
  });

  test('a storage error → temporary-auth-failure', async () => {
    expectFailure(await external(cert(['alice@example.com']), '', { methods: ['standard'] }, { failLookup: true }), 'temporary-auth-failure');
  });

  test('a CN-only certificate is refused by standard alone', async () => {
    expectFailure(await external(cert([], 'alice'), ''), 'not-authorized');
  });
});

describe('EXTERNAL, common_name', () => {
  const cn: ExternalOptions = { methods: ['standard', 'common_name'] };

  test('the CN is the username when there is no xmppAddr', async () => {
    expect(await external(cert([], 'alice'), '', cn)).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('an authzid equal to the CN\'s JID is accepted', async () => {
    expect(await external(cert([], 'alice'), 'alice@example.com', cn)).toMatchObject({ kind: 'success', authcid: 'alice' });
  });

  test('an authzid that disagrees with the CN → invalid-authzid', async () => {
    expectFailure(await external(cert([], 'alice'), 'bob@example.com', cn), 'invalid-authzid');
  });

  test('a certificate with an xmppAddr is not read by its CN', async () => {
    // The xmppAddr (another domain) decides: the CN "alice" is not consulted.
    expectFailure(await external(cert(['alice@elsewhere.example'], 'alice'), '', cn), 'not-authorized');
    expectFailure(await external(cert(['alice@elsewhere.example'], 'alice'), '', { methods: ['common_name'] }), 'not-authorized');
  });

  test('prefix and suffix are stripped, and required', async () => {
    const opts: ExternalOptions = { methods: ['common_name'], commonNamePrefix: 'emp_', commonNameSuffix: '.corp' };
    expect(await external(cert([], 'emp_dave.corp'), '', opts)).toEqual({ kind: 'success', authcid: 'dave' });
    expectFailure(await external(cert([], 'dave.corp'), '', opts), 'not-authorized');
    expectFailure(await external(cert([], 'emp_dave'), '', opts), 'not-authorized');
  });

  test('a CN that is not a valid username → not-authorized', async () => {
    expectFailure(await external(cert([], 'Alice Smith'), '', cn), 'not-authorized');
  });
});

describe('EXTERNAL, auth_id', () => {
  test('a certificate without xmppAddr: the authzid is the identity', async () => {
    expect(await external(cert([], 'some device'), 'carol@example.com', { methods: ['auth_id'] })).toMatchObject({ kind: 'success', authcid: 'carol' });
  });

  test('the authzid must be of this domain', async () => {
    expectFailure(await external(cert([]), 'carol@elsewhere.example', { methods: ['auth_id'] }), 'invalid-authzid');
  });

  test('without an authzid there is no identity', async () => {
    expectFailure(await external(cert([]), '', { methods: ['auth_id'] }), 'not-authorized');
  });

  test('a certificate with an xmppAddr is not open to auth_id', async () => {
    expectFailure(await external(cert(['alice@example.com']), 'carol@example.com', { methods: ['auth_id'] }), 'not-authorized');
  });

  test('methods are tried in the configured order', async () => {
    // CN "alice", authzid carol: common_name first refuses; auth_id first accepts.
    expectFailure(await external(cert([], 'alice'), 'carol@example.com', { methods: ['common_name', 'auth_id'] }), 'invalid-authzid');
    expect(await external(cert([], 'alice'), 'carol@example.com', { methods: ['auth_id', 'common_name'] })).toMatchObject({ kind: 'success', authcid: 'carol' });
  });
});

describe('EXTERNAL message handling', () => {
  test('no initial response: an empty challenge, then the authzid', async () => {
    const ctx = { ...makeContext({ users, host: 'example.com', channelBinding: {} }), peerCertificate: cert(['alice@example.com']) };
    const exchange = createExternalMechanism({ methods: ['standard'] }).start(ctx);
    expect(await exchange.step(null)).toEqual({ kind: 'challenge', data: new Uint8Array(0) });
    expect(await exchange.step(new Uint8Array(0))).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('invalid UTF-8 or a NUL in the authzid → malformed-request', async () => {
    const ctx = { ...makeContext({ users, host: 'example.com', channelBinding: {} }), peerCertificate: cert(['alice@example.com']) };
    expectFailure(await createExternalMechanism({ methods: ['standard'] }).start(ctx).step(new Uint8Array([0xff, 0xfe])), 'malformed-request');
    expectFailure(await external(cert(['alice@example.com']), 'alice@example.com\0'), 'malformed-request');
  });

  test('an oversized message → malformed-request', async () => {
    expectFailure(await external(cert(['alice@example.com']), 'a'.repeat(4000) + '@example.com'), 'malformed-request');
  });

  test('without a verified certificate → not-authorized', async () => {
    expectFailure(await external(undefined, ''), 'not-authorized');
  });
});

describe('EXTERNAL in the registry', () => {
  const registry = createMechanismRegistry({ sasl_mechanisms: ['SCRAM-SHA-256', 'EXTERNAL'], external: { methods: ['common_name'] } });

  test('offered only with a verified client certificate', () => {
    expect(registry.offered({ channelBinding: {} })).toEqual(['SCRAM-SHA-256']);
    expect(registry.offered({ channelBinding: {}, peerCertificate: cert([], 'alice') })).toEqual(['SCRAM-SHA-256', 'EXTERNAL']);
  });

  test('never on an unencrypted connection', () => {
    expect(registry.offered({ channelBinding: undefined, peerCertificate: cert([], 'alice') })).toEqual(['SCRAM-SHA-256']);
  });

  test('uses the configured identity methods', async () => {
    const started = registry.start('EXTERNAL', { ...makeContext({ users, host: 'example.com', channelBinding: {} }), peerCertificate: cert([], 'alice') });
    expect(started.ok).toBe(true);
    if (started.ok) expect(await started.exchange.step(new Uint8Array(0))).toEqual({ kind: 'success', authcid: 'alice' });
  });

  test('refused with invalid-mechanism when no certificate was verified', () => {
    const started = registry.start('EXTERNAL', makeContext({ users, host: 'example.com', channelBinding: {} }));
    expect(started).toEqual({ ok: false, step: { kind: 'failure', condition: 'invalid-mechanism' } });
  });
});
