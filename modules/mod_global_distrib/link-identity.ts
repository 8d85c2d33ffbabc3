// Which cluster a link certificate speaks for. Every cluster's certificate chains to the one
// shared CA, so the chain only proves "some cluster"; the name in the certificate says which.
// A link is used only when the certificate names the cluster at the other end: the one a
// dialling peer claims in its HELLO, or the one we meant to reach when we dialled (an
// endpoint read from Redis may point anywhere).
//
// A certificate names a cluster by a subjectAltName dNSName equal to the cluster name, or,
// only when it has no dNSName at all, by its single subject CN (RFC 6125 §6.4.4). The
// comparison folds ASCII case only, and wildcards are not expanded: cluster names are
// single labels chosen by the operator, so a wildcard could only ever mean "any cluster".

// @peculiar/x509 resolves its parts through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type tls from 'node:tls';

export interface CertificateNames {
  readonly dnsNames: readonly string[];
  /** The subject's CN, when there is exactly one. */
  readonly commonName: string | undefined;
}

/** Names logged on a mismatch, at most this many (a certificate may list thousands). */
const LOGGED_NAMES = 16;

/** The names in a certificate (DER bytes or PEM); undefined when it cannot be read. */
export function readCertificateNames(certificate: Uint8Array | string): CertificateNames | undefined {
  try {
    const cert = new x509.X509Certificate(typeof certificate === 'string' ? certificate : new Uint8Array(certificate));
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const dnsNames = san?.names.items.filter((n) => n.type === 'dns').map((n) => n.value) ?? [];
    const cns = cert.subjectName.getField('CN');
    return { dnsNames, commonName: cns.length === 1 ? cns[0] : undefined };
  } catch {
    return undefined;
  }
}

/** The names of the certificate the other end of a TLS link presented. */
export function peerCertificateNames(socket: tls.TLSSocket): CertificateNames | undefined {
  const raw = (socket.getPeerCertificate() as { raw?: Uint8Array } | null)?.raw;
  return raw === undefined ? undefined : readCertificateNames(raw);
}

export function certificateNamesCluster(names: CertificateNames | undefined, cluster: string): boolean {
  if (names === undefined) return false;
  const wanted = asciiLower(cluster);
  if (names.dnsNames.length > 0) return names.dnsNames.some((name) => asciiLower(name) === wanted);
  return names.commonName !== undefined && asciiLower(names.commonName) === wanted;
}

/** "DNS:dc1", "CN:dc1": what a mismatch log line shows. */
export function describeNames(names: CertificateNames | undefined): string[] {
  if (names === undefined) return [];
  const all = [...names.dnsNames.map((n) => `DNS:${n}`), ...(names.commonName === undefined ? [] : [`CN:${names.commonName}`])];
  return all.length > LOGGED_NAMES ? [...all.slice(0, LOGGED_NAMES), `(${all.length - LOGGED_NAMES} more)`] : all;
}

// toLowerCase() would fold some non-ASCII letters into ASCII ones (KELVIN SIGN → "k"),
// letting a name that is not the cluster's compare equal to it.
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
