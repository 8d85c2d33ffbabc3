// Certificates for the XEP-0178 tests, made with the openssl command line at test time so
// they are exactly what an administrator following docs/client-certificates.md would
// produce: a CA, server certificates, and client certificates with and without
// id-on-xmppAddr. Keys are ECDSA P-256 (quick to generate).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const XMPP_ADDR_OID = '1.3.6.1.5.5.7.8.5';

export interface PemFiles {
  certfile: string;
  keyfile: string;
  cert: string;
  key: string;
}

export interface ClientCertSpec {
  /** Subject CN (omitted when undefined). */
  cn?: string;
  /** id-on-xmppAddr values in the SAN. */
  xmppAddrs?: readonly string[];
  /** extendedKeyUsage value; default clientAuth. `null` leaves the extension out. */
  eku?: string | null;
  /** Extra extension lines for the openssl extension section. */
  extra?: readonly string[];
  /** Validity window as openssl dates (YYYYMMDDHHMMSSZ); default: an hour ago to 30 days ahead. */
  startDate?: string;
  endDate?: string;
  /** Sign with its own key instead of the CA's. */
  selfSigned?: boolean;
  /** Sign with this certificate's key instead of the CA's. */
  issuer?: PemFiles;
  /** Raw subjectAltName entries (openssl syntax) instead of xmppAddrs. */
  san?: string;
}

export interface CertKit {
  dir: string;
  ca: PemFiles;
  /** A second CA nobody trusts. */
  otherCa: PemFiles;
  server: PemFiles;
  client(name: string, spec: ClientCertSpec): PemFiles;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function opensslDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function subjectOf(cn: string | undefined): string {
  return cn === undefined ? '/O=Meerkat tests' : `/O=Meerkat tests/CN=${cn}`;
}

function read(dir: string, name: string): PemFiles {
  const certfile = join(dir, `${name}.pem`);
  const keyfile = join(dir, `${name}.key`);
  return { certfile, keyfile, cert: readFileSync(certfile, 'utf8'), key: readFileSync(keyfile, 'utf8') };
}

function makeCa(dir: string, name: string, cn: string): PemFiles {
  openssl(['req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', `/O=Meerkat tests/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return read(dir, name);
}

/** Signs a request with `openssl ca`, which (unlike `openssl x509` in OpenSSL 3.0) sets any validity window. */
function signWithCa(dir: string, ca: PemFiles, name: string, extLines: readonly string[], start: string, end: string): void {
  writeFileSync(join(dir, `${name}.ext`), `[v3]\n${extLines.join('\n')}\n`);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', ca.certfile, '-keyfile', ca.keyfile, '-in', `${name}.csr`, '-out', `${name}.pem`,
    '-startdate', start, '-enddate', end, '-extfile', `${name}.ext`, '-extensions', 'v3', '-notext'], dir);
}

const CA_CONFIG = `[ca]
default_ca = ca_default
[ca_default]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
organizationName = optional
commonName = optional
`;

export function createCertKit(): CertKit {
  const dir = mkdtempSync(join(tmpdir(), 'meerkat-external-'));
  writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  execFileSync('mkdir', ['-p', join(dir, 'issued')]);
  const ca = makeCa(dir, 'ca', 'Meerkat Test Client CA');
  const otherCa = makeCa(dir, 'other-ca', 'Untrusted CA');
  const now = Date.now();
  const defaultStart = opensslDate(now - 3_600_000);
  const defaultEnd = opensslDate(now + 30 * 86_400_000);

  openssl(['req', '-new', ...EC_KEY, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  signWithCa(dir, ca, 'server', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1',
  ], defaultStart, defaultEnd);
  const server = read(dir, 'server');

  return {
    dir,
    ca,
    otherCa,
    server,
    client(clientName, spec) {
      // Prefixed so a client name never overwrites the CA's or the server's files.
      const name = `client-${clientName}`;
      const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
      const eku = spec.eku === undefined ? 'clientAuth' : spec.eku;
      if (eku !== null) lines.push(`extendedKeyUsage=${eku}`);
      const addrs = spec.xmppAddrs ?? [];
      lines.push(...(spec.extra ?? []));
      if (addrs.length > 0) {
        // A section of its own: FORMAT:UTF8 (the value is UTF-8, not Latin-1) needs a comma.
        lines.push('subjectAltName=@san', '[san]', ...addrs.map((a, i) => `otherName.${i} = ${XMPP_ADDR_OID};FORMAT:UTF8,UTF8:${a}`));
      } else if (spec.san !== undefined) {
        lines.push(`subjectAltName=${spec.san}`);
      }
      if (spec.selfSigned) {
        writeFileSync(join(dir, `${name}.ext`), `[v3]\n${lines.join('\n')}\n`);
        openssl(['req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '30', '-subj', subjectOf(spec.cn),
          '-config', `${name}.ext`, '-extensions', 'v3'], dir);
      } else {
        openssl(['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subjectOf(spec.cn)], dir);
        signWithCa(dir, spec.issuer ?? ca, name, lines, spec.startDate ?? defaultStart, spec.endDate ?? defaultEnd);
      }
      return read(dir, name);
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { opensslDate };
