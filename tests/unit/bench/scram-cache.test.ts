// The load generator's SCRAM-SHA-1 client with a SaltedPassword cache (RFC 5802 §5.1),
// against Meerkat's own SCRAM exchange: cached logins are still accepted and still check
// the server's signature, and only a new (user, password, salt, iterations) derives again.

import { describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { SaltedPasswordCache, ScramSha1Client } from '../../../bench/route/scram.ts';
import { deriveScramCredential, type StoredCredentials } from '../../../server/auth/credentials.ts';
import { startScramExchange } from '../../../server/auth/sasl/scram/exchange.ts';
import type { SaslStep } from '../../../server/auth/sasl/types.ts';
import { makeContext } from '../auth/helpers.ts';

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const fromBytes = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('base64');

async function account(password: string, salt = randomBytes(16)): Promise<StoredCredentials> {
  return { 'SHA-1': await deriveScramCredential(password, 'SHA-1', salt, 4096) };
}

/** One SCRAM-SHA-1 login of `user` with `password` against a server holding `users`. */
async function login(users: Record<string, StoredCredentials>, user: string, password: string, cache?: SaltedPasswordCache): Promise<SaslStep> {
  const client = new ScramSha1Client(user, password, cache);
  const exchange = startScramExchange({ hash: 'SHA-1', plus: false }, makeContext({ users }));
  const first = await exchange.step(b64(client.first()));
  if (first.kind !== 'challenge') return first;
  const final = await exchange.step(b64(await client.final(fromBytes(first.data))));
  if (final.kind === 'success') client.verify(fromBytes(final.data));
  return final;
}

describe('SCRAM-SHA-1 client with a SaltedPassword cache', () => {
  test('derives once per account, and the server accepts every cached login', async () => {
    const users = { alice: await account('secret'), bob: await account('secret') };
    const cache = new SaltedPasswordCache();
    for (let i = 0; i < 3; i++) {
      expect((await login(users, 'alice', 'secret', cache)).kind).toBe('success');
      expect((await login(users, 'bob', 'secret', cache)).kind).toBe('success');
    }
    expect(cache.derivations).toBe(2);
    expect(cache.size).toBe(2);
  });

  test('a cached login still checks the server signature', async () => {
    const users = { alice: await account('secret') };
    const cache = new SaltedPasswordCache();
    expect((await login(users, 'alice', 'secret', cache)).kind).toBe('success');
    const client = new ScramSha1Client('alice', 'secret', cache);
    const exchange = startScramExchange({ hash: 'SHA-1', plus: false }, makeContext({ users }));
    const first = await exchange.step(b64(client.first()));
    await client.final(fromBytes(first.kind === 'challenge' ? first.data : undefined));
    expect(() => client.verify(Buffer.from('v=' + Buffer.alloc(20).toString('base64')).toString('base64'))).toThrow(/did not verify/);
    expect(cache.derivations).toBe(1);
  });

  test('another password or a new salt derives again; a wrong password is refused', async () => {
    const cache = new SaltedPasswordCache();
    const before = { alice: await account('secret') };
    expect((await login(before, 'alice', 'secret', cache)).kind).toBe('success');
    expect(await login(before, 'alice', 'wrong', cache)).toMatchObject({ kind: 'failure', condition: 'not-authorized' });
    expect(cache.derivations).toBe(2);
    // The password was changed on the server: new salt, so the kept value no longer applies.
    const after = { alice: await account('secret') };
    expect((await login(after, 'alice', 'secret', cache)).kind).toBe('success');
    expect(cache.derivations).toBe(3);
  });

  test('a failed derivation is not kept: the next login derives again', async () => {
    let calls = 0;
    const cache = new SaltedPasswordCache(async (password, salt, iterations) => {
      calls++;
      if (calls === 1) throw new Error('out of memory');
      return pbkdf2Sync(password, salt, iterations, 20, 'sha1');
    });
    const users = { alice: await account('secret') };
    await expect(login(users, 'alice', 'secret', cache)).rejects.toThrow('out of memory');
    expect((await login(users, 'alice', 'secret', cache)).kind).toBe('success');
    expect((await login(users, 'alice', 'secret', cache)).kind).toBe('success');
    expect(calls).toBe(2);
  });
});
