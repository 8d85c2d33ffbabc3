// Which cluster a link certificate names: its subjectAltName dNSNames, ASCII case folded and
// without wildcards; its CN only when it has no dNSName at all. A cluster whose own
// certificate does not name it refuses to start, naming the file.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestCa, issueCert, type TestCa } from '../../../server/tls/certs.ts';
import { certificateNamesCluster, describeNames, readCertificateNames } from '../../../modules/mod_global_distrib/link-identity.ts';
import { loadLinkTls } from '../../../modules/mod_global_distrib/link-tls.ts';
import { schema } from '../../../modules/mod_global_distrib/options.ts';

let ca: TestCa;
let dir: string;

beforeAll(async () => {
  ca = await generateTestCa('GD Unit CA');
  dir = await mkdtemp(join(tmpdir(), 'gd-identity-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function names(options: Parameters<typeof issueCert>[1]) {
  return readCertificateNames((await issueCert(ca, options)).cert);
}

test('a dNSName equal to the cluster names it, in any ASCII case', async () => {
  const cert = await names({ dnsNames: ['eu-1.gd', 'DC1'] });
  expect(cert?.dnsNames).toEqual(['eu-1.gd', 'DC1']);
  expect(certificateNamesCluster(cert, 'dc1')).toBe(true);
  expect(certificateNamesCluster(cert, 'EU-1.gd')).toBe(true);
  expect(certificateNamesCluster(cert, 'dc2')).toBe(false);
  expect(certificateNamesCluster(cert, 'dc')).toBe(false);
});

test('the CN counts only when the certificate has no dNSName', async () => {
  const withDns = await names({ dnsNames: ['dc2'], commonName: 'dc1' });
  expect(certificateNamesCluster(withDns, 'dc1')).toBe(false);
  expect(certificateNamesCluster(withDns, 'dc2')).toBe(true);
  expect(describeNames(withDns)).toEqual(['DNS:dc2', 'CN:dc1']);

  const cnOnly = await names({ commonName: 'dc1' });
  expect(cnOnly?.dnsNames).toEqual([]);
  expect(certificateNamesCluster(cnOnly, 'dc1')).toBe(true);
  // An IP address SAN is not a dNSName: the CN still counts.
  const ipAndCn = await names({ ipAddresses: ['127.0.0.1'], commonName: 'dc1' });
  expect(certificateNamesCluster(ipAndCn, 'dc1')).toBe(true);
});

test('wildcards name no cluster', async () => {
  const wild = await names({ dnsNames: ['*', '*.gd'], commonName: 'x' });
  expect(certificateNamesCluster(wild, 'dc1')).toBe(false);
  expect(certificateNamesCluster(wild, 'dc1.gd')).toBe(false);
});

test('only ASCII letters fold: KELVIN SIGN is not "k"', () => {
  expect(certificateNamesCluster({ dnsNames: ['\u212Adc'], commonName: undefined }, 'kdc')).toBe(false);
  expect(certificateNamesCluster({ dnsNames: [], commonName: '\u212Adc' }, 'kdc')).toBe(false);
});

test('an unreadable certificate names nothing', () => {
  expect(readCertificateNames(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]))).toBeUndefined();
  expect(certificateNamesCluster(undefined, 'dc1')).toBe(false);
  expect(describeNames(undefined)).toEqual([]);
});

test('a long list of names is cut short in logs', () => {
  const many = { dnsNames: Array.from({ length: 40 }, (_, i) => `n${i}`), commonName: undefined };
  const described = describeNames(many);
  expect(described.length).toBe(17);
  expect(described.at(-1)).toBe('(24 more)');
});

test("start-up refuses link certificates that do not name this cluster, naming the file", async () => {
  // Written with the CA after the leaf, as a chain file is: the leaf's names count.
  const write = async (name: string, dnsNames: string[], usage: 'server' | 'client') => {
    const pair = await issueCert(ca, { dnsNames, usage });
    const cert = join(dir, `${name}.pem`);
    const key = join(dir, `${name}.key`);
    await Promise.all([writeFile(cert, pair.cert + ca.cert), writeFile(key, pair.key)]);
    return { cert, key };
  };
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.cert);
  const server = await write('dc1-server', ['dc1'], 'server');
  const client = await write('dc1-client', ['dc1'], 'client');
  const otherClient = await write('dc2-client', ['dc2'], 'client');
  const tlsOptions = (clientFiles: { cert: string; key: string }) => schema.parse({
    global_host: 'example.com',
    local_host: 'dc1',
    connections: {
      endpoints: ['127.0.0.1:5555'],
      tls: { certfile: server.cert, keyfile: server.key, cafile: caFile, client_certfile: clientFiles.cert, client_keyfile: clientFiles.key },
    },
  }).connections.tls;

  expect(await loadLinkTls(tlsOptions(client), 'dc1')).toBeDefined();
  await expect(loadLinkTls(tlsOptions(client), 'dc2')).rejects.toThrow('connections.tls.certfile: expected a certificate naming this cluster "dc2" (subjectAltName DNS), got one naming DNS:dc1, CN:dc1');
  await expect(loadLinkTls(tlsOptions(otherClient), 'dc1')).rejects.toThrow('connections.tls.client_certfile: expected a certificate naming this cluster "dc1" (subjectAltName DNS), got one naming DNS:dc2, CN:dc2');
});
