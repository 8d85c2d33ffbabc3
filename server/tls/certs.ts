// X.509 certificates made with WebCrypto and @peculiar/x509, so no openssl is needed at
// run time: the self-signed dev certificate, and a test CA with certificates it issues.
// Keys are ECDSA P-256 (accepted by Bun's and Deno's TLS stacks, and quick to generate).

// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';

const KEY_ALGORITHM: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

export interface PemPair {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
}

export interface TestCa extends PemPair {
  readonly name: string;
  /** Kept so the CA can sign; not exported anywhere else. */
  readonly keys: CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

export interface IssueOptions {
  /** DNS names; each is also the first CN when it is the first entry. */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** Default 365. Negative values make an already expired certificate (for tests). */
  validDays?: number;
  /** 'server' (default) or 'client' (XEP-0178 client certificates). */
  usage?: 'server' | 'client';
  commonName?: string;
}

x509.cryptoProvider.set(globalThis.crypto);

async function newKeyPair(): Promise<CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive, as RFC 5280 requires
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  if (days < 0) return { notBefore: new Date(now + (days - 1) * DAY_MS), notAfter: new Date(now + days * DAY_MS) };
  // Backdated an hour so a peer with a slightly slow clock still accepts it.
  return { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + days * DAY_MS) };
}

function altNames(dnsNames: readonly string[], ips: readonly string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension([
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => {
      if (isIP(value) === 0) throw new RangeError(`not an IP address: ${value}`);
      return { type: 'ip' as const, value };
    }),
  ]);
}

function dnEscape(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}

/** A self-signed leaf certificate for `dnsNames` (and IPs): the dev certificate. */
export async function createSelfSigned(options: IssueOptions): Promise<PemPair> {
  const keys = await newKeyPair();
  const dnsNames = options.dnsNames ?? [];
  const cn = options.commonName ?? dnsNames[0] ?? 'meerkat';
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${dnEscape(cn)}`,
    ...validity(options.validDays ?? 365),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      altNames(dnsNames, options.ipAddresses ?? []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: certificate.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** A CA for tests: trust `ca.cert` (e.g. NODE_EXTRA_CA_CERTS) and issue with issueCert(). */
export async function generateTestCa(name = 'Meerkat Test CA', validDays = 30): Promise<TestCa> {
  const keys = await newKeyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${dnEscape(name)}`,
    ...validity(validDays),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, keys, certificate, cert: certificate.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}

/** A leaf certificate signed by `ca`. */
export async function issueCert(ca: TestCa, options: IssueOptions): Promise<PemPair> {
  const keys = await newKeyPair();
  const dnsNames = options.dnsNames ?? [];
  const cn = options.commonName ?? dnsNames[0] ?? 'meerkat';
  const usage = options.usage ?? 'server';
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (dnsNames.length > 0 || (options.ipAddresses ?? []).length > 0) {
    extensions.push(altNames(dnsNames, options.ipAddresses ?? []));
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnEscape(cn)}`,
    issuer: ca.certificate.subject,
    ...validity(options.validDays ?? 365),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return { cert: certificate.toString('pem'), key: await privateKeyPem(keys.privateKey) };
}
