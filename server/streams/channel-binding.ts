// Channel binding data for SCRAM-*-PLUS, computed from the connection's TLS state:
// tls-exporter (RFC 9266) and tls-server-end-point (RFC 5929 §4.1).
//
// Lazily: each value is computed when a mechanism first reads it, once per connection. The
// stream asks which mechanisms to offer and then starts one, and only the -PLUS mechanisms
// read binding data: without them configured nothing is computed, and the certificate
// (a native X.509 parse, then a hash) only when a client chooses tls-server-end-point.

import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import type { ChannelBindingData } from '../auth/sasl/types.ts';
import type { TlsInfo } from '../runtime/types.ts';

const EXPORTER_LABEL = 'EXPORTER-Channel-Binding';

// Our certificate rarely changes: hash it once per DER.
const endPointCache = new Map<string, Uint8Array>();

const perConnection = new WeakMap<TlsInfo, ChannelBindingData>();

export function channelBindingFor(tls: TlsInfo | undefined): ChannelBindingData | undefined {
  if (tls === undefined) return undefined;
  let data = perConnection.get(tls);
  if (data === undefined) {
    data = lazyChannelBinding(tls);
    perConnection.set(tls, data);
  }
  return data;
}

/** Getters that compute on first read; `undefined` when the TLS layer cannot give the value. */
function lazyChannelBinding(tls: TlsInfo): ChannelBindingData {
  let exporter: { value: Uint8Array | undefined } | undefined;
  let endPoint: { value: Uint8Array | undefined } | undefined;
  return {
    get 'tls-exporter'(): Uint8Array | undefined {
      exporter ??= { value: tlsExporter(tls) };
      return exporter.value;
    },
    get 'tls-server-end-point'(): Uint8Array | undefined {
      endPoint ??= { value: tlsServerEndPoint(tls) };
      return endPoint.value;
    },
  };
}

function tlsExporter(tls: TlsInfo): Uint8Array | undefined {
  const exporter = tls.exportKeyingMaterial(32, EXPORTER_LABEL);
  return exporter && exporter.length === 32 ? exporter : undefined;
}

function tlsServerEndPoint(tls: TlsInfo): Uint8Array | undefined {
  const cert = tls.localCertificate();
  return cert ? serverEndPoint(cert) : undefined;
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
