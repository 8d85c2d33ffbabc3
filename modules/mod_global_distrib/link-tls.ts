// TLS material of links between clusters: every cluster presents a certificate issued by the
// shared CA and accepts only peers whose certificate chains to it (mutual TLS) and names the
// cluster they are (./link-identity.ts). Plain TCP is used only when the operator turned TLS off.

import { readFile } from 'node:fs/promises';
import type { GlobalDistribOptions } from './options.ts';
import { certificateNamesCluster, describeNames, readCertificateNames } from './link-identity.ts';

export interface LinkTls {
  /** Presented by the accepting side. */
  cert: string;
  key: string;
  /** Presented when dialling a peer. */
  clientCert: string;
  clientKey: string;
  /** The only CA whose certificates are accepted, both ways. */
  ca: string;
}

export async function loadLinkTls(tls: GlobalDistribOptions['connections']['tls'], cluster: string): Promise<LinkTls | undefined> {
  if (!tls.enabled) return undefined;
  if (tls.certfile === undefined || tls.keyfile === undefined || tls.cafile === undefined) {
    throw new Error('connections.tls needs certfile, keyfile and cafile (or enabled = false on a trusted network)');
  }
  const [cert, key, ca] = await Promise.all([readFile(tls.certfile, 'utf8'), readFile(tls.keyfile, 'utf8'), readFile(tls.cafile, 'utf8')]);
  const clientCert = tls.client_certfile === undefined ? cert : await readFile(tls.client_certfile, 'utf8');
  const clientKey = tls.client_keyfile === undefined ? key : await readFile(tls.client_keyfile, 'utf8');
  // Peers refuse a certificate that does not name this cluster: say so at start-up, naming
  // the file, rather than with every link that fails later.
  for (const [path, pem] of [['certfile', cert], ['client_certfile', clientCert]] as const) {
    const names = readCertificateNames(pem);
    if (!certificateNamesCluster(names, cluster)) {
      const held = names === undefined ? 'an unreadable certificate' : `one naming ${describeNames(names).join(', ') || 'nothing'}`;
      throw new Error(`connections.tls.${path}: expected a certificate naming this cluster "${cluster}" (subjectAltName DNS), got ${held}`);
    }
  }
  return { cert, key, ca, clientCert, clientKey };
}

/** "host:port" → parts; IPv6 in brackets. */
export function splitHostPort(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(endpoint.slice(i + 1)) };
}
