// docs/client-certificates.md stays true: its openssl steps make a CA and a client
// certificate that the server's verifier accepts with the intended xmppAddr, and its
// configuration example is valid.

import { afterAll, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { createClientCertificateVerifier } from '../../../server/auth/cert/verify.ts';
import { parseConfig } from '../../../server/config/load.ts';

const doc = readFileSync(join(import.meta.dir, '../../../docs/client-certificates.md'), 'utf8');
const blocks = (lang: string) => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
const home = mkdtempSync(join(tmpdir(), 'meerkat-docs-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

test('the openssl steps produce a certificate the server accepts as alice@example.com', () => {
  // Steps 1 and 2 (the account creation and PKCS#12 export need no check here).
  const steps = blocks('sh').filter((b) => b.includes('openssl req')).join('\n');
  execFileSync('bash', ['-e', '-c', steps], { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const dir = join(home, 'meerkat-ca');
  const verifier = createClientCertificateVerifier('peer', readFileSync(join(dir, 'client-ca.pem'), 'utf8'));
  const der = new Uint8Array(new X509Certificate(readFileSync(join(dir, 'alice.pem'))).raw);
  const verdict = verifier.verify({ der, tlsAuthorized: true });
  expect(verdict.ok).toBe(true);
  if (verdict.ok) expect(verdict.certificate.xmppAddrs).toEqual(['alice@example.com']);
});

test('the configuration examples are valid', () => {
  const [listeners, external] = blocks('toml');
  const config = parseConfig(`[general]\nhosts = ["example.com"]\n${listeners}\n${external}`, 'client-certificates.md', {});
  expect(config.listen.c2s.map((l) => l.verify_mode)).toEqual(['peer', 'peer']);
  expect(config.auth.sasl_mechanisms).toContain('EXTERNAL');
  expect(config.auth.external.common_name_prefix).toBe('emp_');
});
