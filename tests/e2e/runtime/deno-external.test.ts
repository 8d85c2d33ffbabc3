// SASL EXTERNAL (XEP-0178) on a Deno-run Meerkat: client certificates over direct TLS,
// STARTTLS and HTTPS (BOSH and WebSocket). Deno.serve cannot ask for client certificates,
// so the runtime layer terminates such HTTPS listeners with node:tls
// (server/runtime/node-tls-terminator.ts); these tests fail if that path loses the
// certificate, or serves someone who dials the internal port directly.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../helpers/ports.ts';
import { repo, startDenoServer, stopDenoServer } from '../../helpers/deno-server.ts';
import { createCertKit } from '../../integration/external/certs.ts';
import { CertWire, mechanisms, NS_SASL } from '../../integration/external/wire.ts';
import { attr, BoshSessionClient, mechanismsOf, TlsWebSocket } from '../../integration/http-tls/wire.ts';

const ctl = join(repo, 'bin', 'meerkatctl');

const kit = createCertKit();
const certs = {
  alice: kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] }),
  otherCa: kit.client('other-ca', { cn: 'alice', xmppAddrs: ['alice@localhost'], issuer: kit.otherCa }),
};
const EXTERNAL_AUTH = `<auth xmlns='${NS_SASL}' mechanism='EXTERNAL'>=</auth>`;

let dir: string;
let server: ChildProcess;
let ports: { starttls: number; tls: number; https: number; admin: number };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-deno-external-'));
  const [starttls, direct, https, admin] = await freePorts(4);
  ports = { starttls: starttls!, tls: direct!, https: https!, admin: admin! };
  const files = `certfile = ${JSON.stringify(kit.server.certfile)}
keyfile = ${JSON.stringify(kit.server.keyfile)}
cafile = ${JSON.stringify(kit.ca.certfile)}
verify_mode = "peer"`;
  const config = join(dir, 'meerkat.toml');
  writeFileSync(config, `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(join(dir, 'var'))}
loglevel = "warning"

[[listen.c2s]]
port = ${ports.starttls}
ip_address = "127.0.0.1"
tls = "starttls"
${files}

[[listen.c2s]]
port = ${ports.tls}
ip_address = "127.0.0.1"
tls = "tls"
${files}

[[listen.http]]
port = ${ports.https}
ip_address = "127.0.0.1"
tls = true
${files}
[listen.http.handlers.bosh]
[listen.http.handlers.websocket]

[listen.admin]
port = ${ports.admin}

[auth]
sasl_mechanisms = ["SCRAM-SHA-256", "PLAIN", "EXTERNAL"]
sasl_external = ["standard"]
[auth.password]
scram_iterations = 4096
`);
  const env = { ...process.env, MEERKAT_CONFIG: config };
  server = await startDenoServer(dir, env);
  const r = spawnSync(ctl, ['user', 'add', 'alice@localhost', 'a-password-she-never-uses'], { cwd: dir, env, encoding: 'utf8' });
  expect(r.status).toBe(0);
}, 60_000);

afterAll(async () => {
  if (server) expect(await stopDenoServer(server)).toBe(0);
  rmSync(dir, { recursive: true, force: true });
  kit.remove();
}, 20_000);

describe('a Deno-run Meerkat with verify_mode = "peer"', () => {
  for (const [name, connect, port] of [
    ['direct TLS', CertWire.directTls, () => ports.tls],
    ['STARTTLS', CertWire.startTls, () => ports.starttls],
  ] as const) {
    test(`${name}: alice logs in with her certificate and binds alice@localhost`, async () => {
      const { wire, features } = await connect(port(), { ca: kit.ca.cert, client: certs.alice });
      expect(mechanisms(features)).toContain('EXTERNAL');
      expect(await wire.sasl(EXTERNAL_AUTH)).toContain(`<success xmlns='${NS_SASL}'/>`);
      expect(await wire.bind()).toStartWith('alice@localhost/');
      wire.close();
    });
  }

  test('a certificate from an untrusted CA: TLS works, EXTERNAL is not offered (direct TLS and STARTTLS)', async () => {
    for (const connect of [CertWire.directTls, CertWire.startTls]) {
      const { wire, features } = await connect(connect === CertWire.directTls ? ports.tls : ports.starttls, { ca: kit.ca.cert, client: certs.otherCa });
      expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
      wire.close();
    }
  });

  test('BOSH on HTTPS: EXTERNAL is offered with her certificate, she logs in and binds', async () => {
    const alice = new BoshSessionClient(ports.https, { ca: kit.ca.cert, client: certs.alice });
    const created = await alice.create();
    expect(attr(created, 'secure')).toBe('true');
    expect(mechanismsOf(created)).toContain('EXTERNAL');
    expect(await alice.request(EXTERNAL_AUTH)).toContain(`<success xmlns='${NS_SASL}'/>`);
    let bound = await alice.restart();
    expect(bound).toContain("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'");
    bound = await alice.request(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>`);
    for (let i = 0; i < 5 && !bound.includes('<jid>'); i++) bound = await alice.request('');
    expect(bound).toContain('<jid>alice@localhost/web</jid>');
    await alice.request('', ` type='terminate'`);
  });

  test('BOSH on HTTPS without a certificate: password mechanisms only', async () => {
    const client = new BoshSessionClient(ports.https, { ca: kit.ca.cert });
    expect(mechanismsOf(await client.create())).toEqual(['SCRAM-SHA-256', 'PLAIN']);
  });

  test('WebSocket on HTTPS: EXTERNAL with her certificate', async () => {
    const ws = await TlsWebSocket.connect(ports.https, '/ws-xmpp', { ca: kit.ca.cert, client: certs.alice });
    ws.send(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>`);
    expect(mechanismsOf(await ws.next(/<stream:features/))).toContain('EXTERNAL');
    ws.send(EXTERNAL_AUTH);
    expect(await ws.next(/<success|<failure/)).toBe(`<success xmlns='${NS_SASL}'/>`);
    ws.close();
  });
});
