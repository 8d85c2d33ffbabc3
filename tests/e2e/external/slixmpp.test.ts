// slixmpp (Debian's python3-slixmpp) logs in with SASL EXTERNAL and an openssl-made client
// certificate over STARTTLS and direct TLS, and is refused where XEP-0178 says so.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createCertKit, type PemFiles } from '../../integration/external/certs.ts';
import { startExternalServer, type ExternalServer } from '../../integration/external/server.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dir, 'slixmpp_external.py');

const kit = createCertKit();
const alice = kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] });
const shared = kit.client('shared', { cn: 'shared', xmppAddrs: ['alice@localhost', 'bob@localhost'] });
const expired = kit.client('expired', { cn: 'alice', xmppAddrs: ['alice@localhost'], startDate: '20200101000000Z', endDate: '20200201000000Z' });

let srv: ExternalServer;
beforeAll(async () => {
  srv = await startExternalServer(kit, {
    verifyMode: 'peer',
    users: ['alice', 'bob'],
    toml: '[auth]\nsasl_mechanisms = ["SCRAM-SHA-256", "PLAIN", "EXTERNAL"]\n',
  });
});
afterAll(async () => {
  await srv?.stop();
  kit.remove();
});

interface Report {
  event: string;
  jid?: string;
  mechanism?: string;
  condition?: string;
}

/** Runs the client to its end and returns its reports. */
function slixmpp(how: 'starttls' | 'tls', jid: string, cert: PemFiles, authzid = ''): Promise<Report[]> {
  const port = how === 'tls' ? srv.tlsPort : srv.starttlsPort;
  const args = [SCRIPT, String(port), kit.ca.certfile, jid, cert.certfile, cert.keyfile, how];
  if (authzid !== '') args.push(authzid);
  return new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    proc.stderr.setEncoding('utf8').on('data', (c: string) => { err += c; });
    proc.on('error', reject);
    proc.on('exit', () => {
      const reports = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Report);
      if (reports.some((r) => r.event === 'timeout')) reject(new Error(`slixmpp timed out: ${out}\n${err}`));
      else resolve(reports);
    });
  });
}

const sessionOf = (reports: Report[]) => reports.find((r) => r.event === 'session_start');

test('STARTTLS: alice logs in with her certificate and an empty authzid', async () => {
  const session = sessionOf(await slixmpp('starttls', 'alice@localhost', alice));
  expect(session?.mechanism).toBe('EXTERNAL');
  expect(session?.jid).toStartWith('alice@localhost/');
});

test('direct TLS: the same', async () => {
  const session = sessionOf(await slixmpp('tls', 'alice@localhost', alice));
  expect(session?.mechanism).toBe('EXTERNAL');
  expect(session?.jid).toStartWith('alice@localhost/');
});

test('a certificate naming two users: without an authzid → invalid-authzid', async () => {
  const reports = await slixmpp('starttls', 'bob@localhost', shared);
  expect(sessionOf(reports)).toBeUndefined();
  expect(reports.find((r) => r.event === 'failed_auth')?.condition).toBe('invalid-authzid');
});

test('a certificate naming two users: the authzid chooses bob', async () => {
  const session = sessionOf(await slixmpp('tls', 'bob@localhost', shared, 'bob@localhost'));
  expect(session?.mechanism).toBe('EXTERNAL');
  expect(session?.jid).toStartWith('bob@localhost/');
});

test('an authzid the certificate does not name → not-authorized', async () => {
  const reports = await slixmpp('starttls', 'bob@localhost', alice, 'bob@localhost');
  expect(sessionOf(reports)).toBeUndefined();
  expect(reports.find((r) => r.event === 'failed_auth')?.condition).toBe('not-authorized');
});

test('an expired certificate: EXTERNAL is not offered, slixmpp has no way in', async () => {
  const reports = await slixmpp('tls', 'alice@localhost', expired);
  expect(sessionOf(reports)).toBeUndefined();
  // Nothing was attempted (no failed_auth): EXTERNAL never appeared among the mechanisms.
  expect(reports.map((r) => r.event)).toEqual(['failed_all_auth', 'disconnected']);
});
