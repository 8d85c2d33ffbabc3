// The self-signed certificate used when a TLS listener has no certfile: generated on
// first start under data_dir and reused afterwards, so clients that pinned it on first
// use keep working. It is replaced only when it no longer fits: a configured host is
// missing, it expires within 30 days, or the key does not belong to the certificate
// (a start interrupted between writing the two files).

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { logger as defaultLogger, type Logger } from '../log.ts';
import { createSelfSigned, type PemPair } from './certs.ts';

export { generateTestCa, issueCert, type PemPair, type TestCa, type IssueOptions } from './certs.ts';

export const DEV_CERT_FILE = 'dev-cert.pem';
export const DEV_KEY_FILE = 'dev-key.pem';

const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface DevCertificate extends PemPair {
  readonly certPath: string;
  readonly keyPath: string;
  /** True when this call created it. */
  readonly generated: boolean;
}

/** Names the dev certificate covers: each host and its subdomains (MUC, upload, ...). */
export function devCertificateNames(hosts: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  return { dnsNames: hosts.flatMap((host) => [host, `*.${host}`]), ipAddresses: ['127.0.0.1', '::1'] };
}

export async function ensureDevCertificate(
  dataDir: string,
  hosts: readonly string[],
  log: Logger = defaultLogger,
): Promise<DevCertificate> {
  const certPath = join(dataDir, DEV_CERT_FILE);
  const keyPath = join(dataDir, DEV_KEY_FILE);
  const existing = await readPair(certPath, keyPath);
  if (existing) {
    const problem = await unusableBecause(existing, hosts);
    if (problem === undefined) return { ...existing, certPath, keyPath, generated: false };
    log.info('tls_dev_certificate_replaced', { path: certPath, reason: problem });
  }

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pair = await createSelfSigned({ ...devCertificateNames(hosts), commonName: hosts[0] });
  // Key first: a certificate on disk always has its key beside it (checked on load anyway).
  await writeAtomically(keyPath, pair.key, 0o600);
  await writeAtomically(certPath, pair.cert, 0o644);
  log.info('tls_dev_certificate_generated', { path: certPath, hosts: [...hosts] });
  return { ...pair, certPath, keyPath, generated: true };
}

async function readPair(certPath: string, keyPath: string): Promise<PemPair | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function unusableBecause(pair: PemPair, hosts: readonly string[]): Promise<string | undefined> {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(pair.cert);
  } catch {
    return 'unreadable certificate';
  }
  if (certificate.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return 'expires soon';
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const names = new Set(san?.names.items.filter((n) => n.type === 'dns').map((n) => n.value) ?? []);
  const missing = hosts.filter((host) => !names.has(host));
  if (missing.length > 0) return `hosts not covered: ${missing.join(', ')}`;
  if (!(await keyMatches(certificate, pair.key))) return 'key does not match certificate';
  return undefined;
}

async function keyMatches(certificate: x509.X509Certificate, keyPem: string): Promise<boolean> {
  try {
    const subtle = globalThis.crypto.subtle;
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
    const privateKey = await subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), algorithm, true, ['sign']);
    const publicKey = await certificate.publicKey.export(algorithm, ['verify']);
    const [a, b] = await Promise.all([subtle.exportKey('jwk', privateKey), subtle.exportKey('jwk', publicKey)]);
    return a.x === b.x && a.y === b.y;
  } catch {
    return false;
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode, flag: 'w' });
  // writeFile's mode applies only to new files; make sure of it regardless of umask.
  await chmod(temporary, mode);
  await rename(temporary, path);
}
