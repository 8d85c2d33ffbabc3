import { afterEach, describe, expect, test } from 'bun:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Logger } from '../../../server/log.ts';
import { DEV_CERT_FILE, DEV_KEY_FILE, ensureDevCertificate, generateTestCa, issueCert } from '../../../server/tls/devcert.ts';
import { listenerTlsCredentials } from '../../../server/tls/material.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-tls-'));
  dirs.push(dir);
  return join(dir, 'var');
}

function capture(): { log: Logger; events: string[] } {
  const events: string[] = [];
  return { log: new Logger('debug', (line) => events.push(JSON.parse(line).what)), events };
}

/** Starts a TLS echo server with `pair`, connects with `ca` trusted, resolves to the peer check result. */
async function handshake(pair: { cert: string; key: string }, ca: string, servername: string | undefined, host = '127.0.0.1'): Promise<string> {
  const server = Bun.listen({
    hostname: '127.0.0.1',
    port: 0,
    tls: { cert: pair.cert, key: pair.key },
    socket: { data(socket, data) { socket.write(data); }, open() {} },
  });
  try {
    return await new Promise<string>((resolve, reject) => {
      // Without a servername the identity checked is `host` itself (an IP address here).
      const options = servername === undefined ? {} : { servername };
      const socket = tls.connect({ host, port: server.port, ca, ...options, rejectUnauthorized: true, checkServerIdentity: (name, cert) => tls.checkServerIdentity(servername ?? host, cert) }, () => {
        socket.write('ping');
      });
      socket.on('data', (data) => {
        socket.end();
        resolve(`${socket.authorized ? 'authorized' : 'unauthorized'} ${data.toString()}`);
      });
      socket.on('error', reject);
    });
  } finally {
    server.stop(true);
  }
}

describe('the dev certificate', () => {
  test('is generated once, with a private key file, and reused', async () => {
    const dataDir = tempDir();
    const { log, events } = capture();
    const first = await ensureDevCertificate(dataDir, ['localhost', 'chat.example'], log);
    expect(first.generated).toBe(true);
    expect(first.certPath).toBe(join(dataDir, DEV_CERT_FILE));
    expect(first.keyPath).toBe(join(dataDir, DEV_KEY_FILE));
    expect(first.cert).toStartWith('-----BEGIN CERTIFICATE-----');
    expect(first.key).toStartWith('-----BEGIN PRIVATE KEY-----');
    expect(statSync(first.keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readFileSync(first.certPath, 'utf8')).toBe(first.cert);

    const second = await ensureDevCertificate(dataDir, ['localhost', 'chat.example'], log);
    expect(second.generated).toBe(false);
    expect(second.cert).toBe(first.cert);
    expect(second.key).toBe(first.key);
    expect(events).toEqual(['tls_dev_certificate_generated']);
  });

  test('names every host, its subdomains and the loopback addresses', async () => {
    const { cert } = await ensureDevCertificate(tempDir(), ['localhost', 'chat.example'], capture().log);
    const certificate = new x509.X509Certificate(cert);
    const san = certificate.getExtension(x509.SubjectAlternativeNameExtension)!;
    expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual([
      'dns:localhost', 'dns:*.localhost', 'dns:chat.example', 'dns:*.chat.example', 'ip:127.0.0.1', 'ip:::1',
    ]);
    expect(certificate.subject).toBe('CN=localhost');
    expect(await certificate.verify({ signatureOnly: true })).toBe(true);
  });

  test('is accepted by a TLS handshake for a host, a subdomain and the IP address', async () => {
    const pair = await ensureDevCertificate(tempDir(), ['localhost', 'chat.example'], capture().log);
    expect(await handshake(pair, pair.cert, 'chat.example')).toBe('authorized ping');
    expect(await handshake(pair, pair.cert, 'conference.chat.example')).toBe('authorized ping');
    expect(await handshake(pair, pair.cert, 'localhost')).toBe('authorized ping');
    expect(await handshake(pair, pair.cert, undefined, '127.0.0.1')).toBe('authorized ping');
    await expect(handshake(pair, pair.cert, 'other.example')).rejects.toThrow(/does not match/);
  });

  test('is replaced when a host is added', async () => {
    const dataDir = tempDir();
    const { log, events } = capture();
    const first = await ensureDevCertificate(dataDir, ['localhost'], log);
    const second = await ensureDevCertificate(dataDir, ['localhost', 'new.example'], log);
    expect(second.generated).toBe(true);
    expect(second.cert).not.toBe(first.cert);
    expect(events).toEqual(['tls_dev_certificate_generated', 'tls_dev_certificate_replaced', 'tls_dev_certificate_generated']);
  });

  test('is replaced when the key on disk does not belong to it', async () => {
    const dataDir = tempDir();
    const first = await ensureDevCertificate(dataDir, ['localhost'], capture().log);
    const other = await generateTestCa();
    writeFileSync(first.keyPath, other.key);
    const second = await ensureDevCertificate(dataDir, ['localhost'], capture().log);
    expect(second.generated).toBe(true);
    expect(await handshake(second, second.cert, 'localhost')).toBe('authorized ping');
  });
});

describe('a test CA', () => {
  test('issues server certificates a client trusting the CA accepts', async () => {
    const ca = await generateTestCa();
    const server = await issueCert(ca, { dnsNames: ['a.example', '*.a.example'], ipAddresses: ['127.0.0.1'] });
    expect(await handshake(server, ca.cert, 'a.example')).toBe('authorized ping');
    // Trusting only the leaf's issuer matters: another CA is refused.
    const stranger = await generateTestCa('Other CA');
    await expect(handshake(server, stranger.cert, 'a.example')).rejects.toThrow();
  });

  test('issues client certificates and expired ones', async () => {
    const ca = await generateTestCa();
    const client = new x509.X509Certificate((await issueCert(ca, { commonName: 'alice@a.example', usage: 'client' })).cert);
    const eku = client.getExtension(x509.ExtendedKeyUsageExtension)!;
    expect(eku.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(client.issuer).toBe('CN=Meerkat Test CA');
    expect(await client.verify({ publicKey: ca.certificate.publicKey })).toBe(true);
    const expired = new x509.X509Certificate((await issueCert(ca, { dnsNames: ['a.example'], validDays: -1 })).cert);
    expect(expired.notAfter.getTime()).toBeLessThan(Date.now());
  });
});

describe('listener credentials', () => {
  test('configured files win; otherwise the dev certificate', async () => {
    const dataDir = tempDir();
    const ca = await generateTestCa();
    const pair = await issueCert(ca, { dnsNames: ['a.example'] });
    const dir = join(dataDir, '..');
    writeFileSync(join(dir, 'cert.pem'), pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    const general = { data_dir: dataDir, hosts: ['a.example'] };
    const own = await listenerTlsCredentials(
      { certfile: join(dir, 'cert.pem'), keyfile: join(dir, 'key.pem'), cafile: join(dir, 'ca.pem'), verify_peer: true }, general);
    expect(own).toEqual({ cert: pair.cert, key: pair.key, ca: ca.cert, requestCert: true });
    const dev = await listenerTlsCredentials({}, general, capture().log);
    expect(dev.cert).toBe(readFileSync(join(dataDir, DEV_CERT_FILE), 'utf8'));
    expect(dev.requestCert).toBeUndefined();
  });
});
