import { describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import {
  DEFAULT_ITERATIONS,
  SALT_BYTES,
  deriveCredentials,
  deriveScramCredential,
  verifyPlainPassword,
} from '../../../server/auth/credentials.ts';

describe('deriveCredentials', () => {
  test('derives all three hashes by default, with the documented iteration counts and salt size', async () => {
    const creds = await deriveCredentials('pencil');
    for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as const) {
      const c = creds[hash]!;
      expect(c.iterations).toBe(DEFAULT_ITERATIONS[hash]);
      expect(Buffer.from(c.salt, 'base64').length).toBe(SALT_BYTES);
    }
    expect(Buffer.from(creds['SHA-1']!.storedKey, 'base64').length).toBe(20);
    expect(Buffer.from(creds['SHA-256']!.storedKey, 'base64').length).toBe(32);
    expect(Buffer.from(creds['SHA-512']!.serverKey, 'base64').length).toBe(64);
  });

  test('keeps no plaintext: the password appears nowhere in the stored record', async () => {
    const creds = await deriveCredentials('correct horse battery staple', { hashes: ['SHA-256'] });
    expect(JSON.stringify(creds)).not.toContain('correct horse');
  });

  test('honours hashes and iterations options', async () => {
    const creds = await deriveCredentials('pencil', { hashes: ['SHA-256'], iterations: 5000 });
    expect(Object.keys(creds)).toEqual(['SHA-256']);
    expect(creds['SHA-256']!.iterations).toBe(5000);
  });

  test('uses a fresh salt per hash and per call', async () => {
    const a = await deriveCredentials('pencil', { hashes: ['SHA-1', 'SHA-256'], iterations: 4096 });
    const b = await deriveCredentials('pencil', { hashes: ['SHA-1'], iterations: 4096 });
    expect(a['SHA-1']!.salt).not.toBe(a['SHA-256']!.salt);
    expect(a['SHA-1']!.salt).not.toBe(b['SHA-1']!.salt);
    expect(a['SHA-1']!.storedKey).not.toBe(b['SHA-1']!.storedKey);
  });

  test('refuses bad options and passwords SASLprep prohibits', async () => {
    await expect(deriveCredentials('pencil', { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(deriveCredentials('pencil', { iterations: 1.5 })).rejects.toThrow(RangeError);
    await expect(deriveCredentials('pencil', { hashes: [] })).rejects.toThrow(RangeError);
    await expect(deriveCredentials('bell\u0007')).rejects.toThrow(RangeError);
    await expect(deriveCredentials('\u00AD')).rejects.toThrow(RangeError);
  });

  test('matches the RFC 5802 §5 keys for user/pencil', async () => {
    // Salt and iteration count from the RFC example; StoredKey/ServerKey are what the
    // RFC's ClientProof and ServerSignature values imply.
    const c = await deriveScramCredential('pencil', 'SHA-1', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
    expect(c.storedKey).toBe('6dlGYMOdZcOPutkcNY8U2g7vK9Y=');
    expect(c.serverKey).toBe('D+CSWLOshSulAsxiupA+qs2/fTE=');
  });
});

describe('verifyPlainPassword', () => {
  test('accepts the right password and refuses a wrong one', async () => {
    const creds = await deriveCredentials('pencil', { iterations: 4096 });
    expect(await verifyPlainPassword(creds, 'pencil')).toBe(true);
    expect(await verifyPlainPassword(creds, 'pencil ')).toBe(false);
    expect(await verifyPlainPassword(creds, 'Pencil')).toBe(false);
    expect(await verifyPlainPassword(creds, '')).toBe(false);
  });

  test('compares after SASLprep, so equivalent spellings verify', async () => {
    // U+00AD SOFT HYPHEN maps to nothing; U+00A0 NO-BREAK SPACE maps to SPACE (RFC 4013 §2).
    const creds = await deriveCredentials('pen\u00ADcil pass', { hashes: ['SHA-256'], iterations: 4096 });
    expect(await verifyPlainPassword(creds, 'pencil\u00A0pass')).toBe(true);
  });

  test('a password SASLprep refuses is simply wrong', async () => {
    const creds = await deriveCredentials('pencil', { hashes: ['SHA-1'], iterations: 4096 });
    expect(await verifyPlainPassword(creds, 'pencil\u0007')).toBe(false);
  });

  test('works with any single stored hash and fails with none', async () => {
    for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as const) {
      const creds = await deriveCredentials('pencil', { hashes: [hash], iterations: 4096 });
      expect(await verifyPlainPassword(creds, 'pencil')).toBe(true);
    }
    expect(await verifyPlainPassword({}, 'pencil')).toBe(false);
  });
});
