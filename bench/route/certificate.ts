// A throwaway CA and a server certificate for "localhost" / 127.0.0.1, written to a
// directory; the load client trusts the CA.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateTestCa, issueCert } from '../../server/tls/certs.ts';

export interface BenchCertificate {
  certFile: string;
  keyFile: string;
  ca: string;
}

export async function writeBenchCertificate(dir: string): Promise<BenchCertificate> {
  const ca = await generateTestCa('Meerkat Bench CA');
  const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await writeFile(certFile, leaf.cert);
  await writeFile(keyFile, leaf.key, { mode: 0o600 });
  return { certFile, keyFile, ca: ca.cert };
}
