// Verification of a TLS client certificate before SASL EXTERNAL may use it (XEP-0178).
//
// The TLS library already checked the chain (its verdict arrives as `tlsAuthorized`), but
// the identity the certificate carries is only trusted if our own checks agree:
// - trust: signed by a certificate of the listener's `cafile` (each one is a trust anchor,
//   so an intermediate CA goes into cafile itself), or, with `selfsigned_peer`, signed by
//   its own key;
// - every certificate involved is within its validity dates;
// - the leaf may be used for TLS client authentication: keyUsage (when present) allows
//   digitalSignature and extendedKeyUsage (when present) lists id-kp-clientAuth or
//   anyExtendedKeyUsage; the issuing CA is a CA (basicConstraints cA) that may sign
//   certificates (keyCertSign);
// - no certificate carries a critical extension we do not process (RFC 5280 §4.2:
//   such a certificate must be rejected). Name constraints and policy constraints are not
//   processed here, so a CA that uses them critically is refused rather than half-honoured.
//
// Runs synchronously (node:crypto signature checks) because the stream decides which SASL
// mechanisms to offer while it writes its features.

import 'reflect-metadata';
import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { VerifyMode } from '../../config/listen.ts';
import { certificateIdentities, type CertificateIdentities } from './identities.ts';

export type { VerifyMode };

const ID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

const EXT_BASIC_CONSTRAINTS = '2.5.29.19';
const EXT_KEY_USAGE = '2.5.29.15';
const EXT_EXTENDED_KEY_USAGE = '2.5.29.37';

/** Extensions whose meaning these checks honour (or that impose nothing on a relying party). */
const UNDERSTOOD_EXTENSIONS = new Set([
  EXT_BASIC_CONSTRAINTS,
  EXT_KEY_USAGE,
  EXT_EXTENDED_KEY_USAGE,
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.32', // certificatePolicies: no policy is required of client certificates
]);

export type TrustPath = 'ca' | 'self-signed';

export interface VerifiedClientCertificate extends CertificateIdentities {
  readonly raw: Uint8Array;
  readonly trust: TrustPath;
}

export type ClientCertificateVerdict =
  | { ok: true; certificate: VerifiedClientCertificate }
  | { ok: false; reason: string };

/** What the TLS layer reported about the peer's certificate. */
export interface PeerCertificateReport {
  readonly der: Uint8Array | undefined;
  /** The TLS library found a chain to the configured CAs. */
  readonly tlsAuthorized: boolean;
}

interface Parsed {
  readonly cert: x509.X509Certificate;
  readonly node: NodeX509Certificate;
  readonly subject: Buffer;
  readonly issuer: Buffer;
}

function parse(der: Uint8Array): Parsed {
  const bytes = new Uint8Array(der);
  const cert = new x509.X509Certificate(bytes);
  return {
    cert,
    node: new NodeX509Certificate(bytes),
    subject: Buffer.from(cert.subjectName.toArrayBuffer()),
    issuer: Buffer.from(cert.issuerName.toArrayBuffer()),
  };
}

/** Splits a PEM bundle into certificates; throws on anything that does not parse. */
export function parseCaBundle(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new x509.X509Certificate(block));
}

function withinValidity(cert: x509.X509Certificate, now: Date): string | undefined {
  if (now < cert.notBefore) return 'certificate is not yet valid';
  if (now > cert.notAfter) return 'certificate has expired';
  return undefined;
}

function unknownCriticalExtension(cert: x509.X509Certificate): string | undefined {
  const ext = cert.extensions.find((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.type));
  return ext === undefined ? undefined : `unhandled critical extension ${ext.type}`;
}

function clientUsageProblem(cert: x509.X509Certificate): string | undefined {
  const ku = cert.getExtension<x509.KeyUsagesExtension>(EXT_KEY_USAGE);
  if (ku !== null && (ku.usages & x509.KeyUsageFlags.digitalSignature) === 0) return 'keyUsage does not allow digitalSignature';
  const eku = cert.getExtension<x509.ExtendedKeyUsageExtension>(EXT_EXTENDED_KEY_USAGE);
  if (eku !== null && !eku.usages.some((u) => u === ID_KP_CLIENT_AUTH || u === ANY_EXTENDED_KEY_USAGE)) {
    return 'extendedKeyUsage does not allow TLS client authentication';
  }
  return undefined;
}

function caProblem(ca: x509.X509Certificate, now: Date): string | undefined {
  const bc = ca.getExtension<x509.BasicConstraintsExtension>(EXT_BASIC_CONSTRAINTS);
  if (bc === null || !bc.ca) return 'issuer is not a CA';
  const ku = ca.getExtension<x509.KeyUsagesExtension>(EXT_KEY_USAGE);
  if (ku !== null && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) return 'issuer may not sign certificates';
  return withinValidity(ca, now)?.replace('certificate', 'issuer') ?? unknownCriticalExtension(ca);
}

function signedBy(leaf: Parsed, issuer: NodeX509Certificate): boolean {
  try {
    return leaf.node.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export class ClientCertificateVerifier {
  private readonly anchors: { cert: x509.X509Certificate; node: NodeX509Certificate; subject: Buffer }[];

  constructor(readonly mode: VerifyMode, trustAnchors: readonly x509.X509Certificate[] = []) {
    this.anchors = trustAnchors.map((cert) => ({
      cert,
      node: new NodeX509Certificate(new Uint8Array(cert.rawData)),
      subject: Buffer.from(cert.subjectName.toArrayBuffer()),
    }));
  }

  /** The TLS layer should ask clients for a certificate. */
  get requestsCertificates(): boolean {
    return this.mode !== 'none';
  }

  verify(report: PeerCertificateReport, now: Date = new Date()): ClientCertificateVerdict {
    if (this.mode === 'none') return { ok: false, reason: 'client certificates are not verified on this listener' };
    if (report.der === undefined) return { ok: false, reason: 'no client certificate' };
    let leaf: Parsed;
    let identities: CertificateIdentities;
    try {
      leaf = parse(report.der);
      identities = certificateIdentities(leaf.cert);
    } catch {
      return { ok: false, reason: 'certificate does not parse' };
    }
    const problem = withinValidity(leaf.cert, now) ?? unknownCriticalExtension(leaf.cert) ?? clientUsageProblem(leaf.cert);
    if (problem !== undefined) return { ok: false, reason: problem };

    const trust = this.trustPath(leaf, report.tlsAuthorized, now);
    if (typeof trust === 'object') return { ok: false, reason: trust.reason };
    return { ok: true, certificate: { raw: new Uint8Array(report.der), trust, ...identities } };
  }

  private trustPath(leaf: Parsed, tlsAuthorized: boolean, now: Date): TrustPath | { reason: string } {
    let lastProblem = 'not issued by a trusted CA';
    for (const anchor of this.anchors) {
      if (!anchor.subject.equals(leaf.issuer) || !signedBy(leaf, anchor.node)) continue;
      const problem = caProblem(anchor.cert, now);
      if (problem !== undefined) {
        lastProblem = problem;
        continue;
      }
      // Both must agree: the TLS library's chain check and ours.
      if (!tlsAuthorized) return { reason: 'the TLS layer did not accept the certificate chain' };
      return 'ca';
    }
    if (this.mode === 'selfsigned_peer' && leaf.subject.equals(leaf.issuer) && signedBy(leaf, leaf.node)) return 'self-signed';
    return { reason: lastProblem };
  }
}

/** A verifier for a listener's `verify_mode` and `cafile` contents. */
export function createClientCertificateVerifier(mode: VerifyMode, caPem: string | undefined): ClientCertificateVerifier {
  const anchors = caPem === undefined ? [] : parseCaBundle(caPem);
  if (mode === 'peer' && anchors.length === 0) throw new RangeError('verify_mode "peer" needs a cafile with at least one CA certificate');
  return new ClientCertificateVerifier(mode, anchors);
}
