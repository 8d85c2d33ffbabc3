// The published SCRAM examples, replayed byte for byte with the server nonce injected.

import { describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { deriveScramCredential } from '../../../server/auth/credentials.ts';
import { scramSha1Mechanism, scramSha256Mechanism } from '../../../server/auth/sasl/index.ts';
import { challengeText, makeContext, text, utf8 } from './helpers.ts';

describe('RFC 5802 §5 SCRAM-SHA-1 example', () => {
  test('user/pencil exchange matches the RFC exactly', async () => {
    const cred = await deriveScramCredential('pencil', 'SHA-1', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
    const ctx = makeContext({ users: { user: { 'SHA-1': cred } }, serverNonce: '3rfcNHYJY1ZVvWVs7j' });
    const exchange = scramSha1Mechanism.start(ctx);

    const serverFirst = challengeText(await exchange.step(utf8('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL')));
    expect(serverFirst).toBe('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');

    const result = await exchange.step(utf8('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts='));
    expect(result.kind).toBe('success');
    if (result.kind !== 'success') return;
    expect(text(result.data)).toBe('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    expect(result.authcid).toBe('user');
    expect(result.authzid).toBeUndefined();
  });
});

describe('RFC 7677 §3 SCRAM-SHA-256 example', () => {
  test('user/pencil exchange matches the RFC exactly', async () => {
    const cred = await deriveScramCredential('pencil', 'SHA-256', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const ctx = makeContext({ users: { user: { 'SHA-256': cred } }, serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const exchange = scramSha256Mechanism.start(ctx);

    const serverFirst = challengeText(await exchange.step(utf8('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')));
    expect(serverFirst).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');

    const result = await exchange.step(
      utf8('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    expect(result.kind).toBe('success');
    if (result.kind !== 'success') return;
    expect(text(result.data)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(result.authcid).toBe('user');
  });

  test('the same exchange without an initial response starts with an empty challenge', async () => {
    const cred = await deriveScramCredential('pencil', 'SHA-256', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
    const ctx = makeContext({ users: { user: { 'SHA-256': cred } }, serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const exchange = scramSha256Mechanism.start(ctx);
    expect(challengeText(await exchange.step(null))).toBe('');
    expect(challengeText(await exchange.step(utf8('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')))).toStartWith('r=rOprNGfwEbeRWgbNEkqO%hvY');
    const result = await exchange.step(
      utf8('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    expect(result.kind).toBe('success');
  });
});
