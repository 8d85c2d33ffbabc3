// Channel binding data for SCRAM-*-PLUS, computed from the connection's TLS state:
// tls-exporter (RFC 9266) and tls-server-end-point (RFC 5929 §4.1).

import { createHash } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import type { ChannelBindingData } from '../auth/sasl/types.ts';
import type { TlsInfo } from '../runtime/types.ts';

const EXPORTER_LABEL = 'EXPORTER-Channel-Binding';

// Our certificate rarely changes: hash it once per DER.
const endPointCache = new Map<string, Uint8Array>();

export function channelBindingFor(tls: TlsInfo | undefined): ChannelBindingData | undefined {
  if (tls === undefined) return undefined;
  const data: ChannelBindingData = {};
  const exporter = tls.exportKeyingMaterial(32, EXPORTER_LABEL);
  if (exporter && exporter.length === 32) data['tls-exporter'] = exporter;
  const cert = tls.localCertificate();
  if (cert) {
    const endPoint = serverEndPoint(cert);
    if (endPoint) data['tls-server-end-point'] = endPoint;
  }
  return data;
}

/** RFC 5929: hash the certificate with its signature's hash, SHA-256 for MD5 and SHA-1. */
export function serverEndPoint(der: Uint8Array): Uint8Array | undefined {
  const key = Buffer.from(der).toString('base64');
  const cached = endPointCache.get(key);
  if (cached) return cached;
  let hash = 'sha256';
  try {
    const alg = new X509Certificate(new Uint8Array(der).buffer).signatureAlgorithm as { hash?: { name?: string } };
    const name = alg.hash?.name?.toUpperCase();
    if (name === 'SHA-384') hash = 'sha384';
    else if (name === 'SHA-512') hash = 'sha512';
  } catch {
    return undefined;
  }
  const value = new Uint8Array(createHash(hash).update(der).digest());
  if (endPointCache.size > 64) endPointCache.clear();
  endPointCache.set(key, value);
  return value;
}
