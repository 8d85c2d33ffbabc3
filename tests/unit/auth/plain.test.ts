import { beforeAll, describe, expect, test } from 'bun:test';
import { deriveCredentials, type StoredCredentials } from '../../../server/auth/credentials.ts';
import { plainMechanism, type SaslFailureCondition, type SaslStep } from '../../../server/auth/sasl/index.ts';
import { parsePlainMessage } from '../../../server/auth/sasl/plain.ts';
import { makeContext, utf8 } from './helpers.ts';

let users: Record<string, StoredCredentials>;
beforeAll(async () => {
  users = { juliet: await deriveCredentials('r0m30myr0m30', { iterations: 4096 }) };
});

async function plain(message: string | Uint8Array, opts: Parameters<typeof makeContext>[0] = {}): Promise<SaslStep> {
  const exchange = plainMechanism.start(makeContext({ users, ...opts }));
  return exchange.step(typeof message === 'string' ? utf8(message) : message);
}

function expectFailure(step: SaslStep, condition: SaslFailureCondition): void {
  expect(step.kind).toBe('failure');
  if (step.kind === 'failure') expect(step.condition).toBe(condition);
}

describe('PLAIN', () => {
  test('right password succeeds with the prepared username', async () => {
    const result = await plain('\0juliet\0r0m30myr0m30');
    expect(result).toEqual({ kind: 'success', authcid: 'juliet' });
  });

  test('username and password are SASLprep\'d', async () => {
    const result = await plain('\0jul\u00ADiet\0r0m30\u00ADmyr0m30');
    expect(result).toEqual({ kind: 'success', authcid: 'juliet' });
  });

  test('wrong password → not-authorized', async () => {
    expectFailure(await plain('\0juliet\0R0m30myr0m30'), 'not-authorized');
  });

  test('unknown user → not-authorized, after a lookup', async () => {
    const lookups: string[] = [];
    expectFailure(await plain('\0romeo\0r0m30myr0m30', { lookups }), 'not-authorized');
    expect(lookups).toEqual(['romeo']);
  });

  test('a password SASLprep prohibits → not-authorized', async () => {
    expectFailure(await plain('\0juliet\0r0m30\u0007'), 'not-authorized');
  });

  test('a storage error → temporary-auth-failure', async () => {
    expectFailure(await plain('\0juliet\0r0m30myr0m30', { failLookup: true }), 'temporary-auth-failure');
  });

  test('own bare JID as authzid is accepted and returned', async () => {
    const result = await plain('juliet@example.com\0juliet\0r0m30myr0m30');
    expect(result).toEqual({ kind: 'success', authcid: 'juliet', authzid: 'juliet@example.com' });
  });

  test('foreign authzid → invalid-authzid; with a wrong password → not-authorized', async () => {
    expectFailure(await plain('romeo@example.com\0juliet\0r0m30myr0m30'), 'invalid-authzid');
    expectFailure(await plain('juliet@example.net\0juliet\0r0m30myr0m30'), 'invalid-authzid');
    expectFailure(await plain('romeo@example.com\0juliet\0wrong'), 'not-authorized');
  });

  test('without an initial response the server sends an empty challenge first', async () => {
    const exchange = plainMechanism.start(makeContext({ users }));
    const first = await exchange.step(null);
    expect(first.kind).toBe('challenge');
    expect(first.kind === 'challenge' && first.data.length).toBe(0);
    expect((await exchange.step(utf8('\0juliet\0r0m30myr0m30'))).kind).toBe('success');
  });

  test('no data twice → malformed-request', async () => {
    const exchange = plainMechanism.start(makeContext({ users }));
    await exchange.step(null);
    expectFailure(await exchange.step(null), 'malformed-request');
  });

  const malformed: [string, string | Uint8Array][] = [
    ['empty response', ''],
    ['one NUL', 'juliet\0r0m30myr0m30'],
    ['no NUL', 'julietr0m30myr0m30'],
    ['three NULs', '\0juliet\0r0m30\0myr0m30'],
    ['trailing NUL', '\0juliet\0r0m30myr0m30\0'],
    ['empty authcid', '\0\0r0m30myr0m30'],
    ['empty password', '\0juliet\0'],
    ['invalid UTF-8', new Uint8Array([0, 0x6a, 0xff, 0, 0x70])],
    ['overlong UTF-8 encoding of NUL', new Uint8Array([0, 0x6a, 0xc0, 0x80, 0, 0x70])],
    ['oversized message', `\0juliet\0${'x'.repeat(2000)}`],
  ];
  for (const [name, message] of malformed) {
    test(`${name} → malformed-request`, async () => {
      expectFailure(await plain(message), 'malformed-request');
    });
  }

  test('parsePlainMessage splits the three fields', () => {
    expect(parsePlainMessage(utf8('z\0c\0p'))).toEqual({ authzid: 'z', authcid: 'c', password: 'p' });
    expect(parsePlainMessage(utf8('\0c\0p w'))).toEqual({ authcid: 'c', password: 'p w' });
    expect(parsePlainMessage(utf8('\0c'))).toBeUndefined();
  });

  test('unknown users cost the same PBKDF2 work as known ones (no enumeration by timing)', async () => {
    // Default iteration count, so the PBKDF2 run dominates; without the decoy verification
    // an unknown user would answer in a small fraction of the time.
    const real = { juliet: await deriveCredentials('r0m30myr0m30') };
    const median = async (message: string): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const start = performance.now();
        expectFailure(await plain(message, { users: real }), 'not-authorized');
        times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b)[3]!;
    };
    const known = await median('\0juliet\0wrong');
    const unknown = await median('\0romeo\0wrong');
    expect(unknown).toBeGreaterThan(known * 0.5);
  });
});
