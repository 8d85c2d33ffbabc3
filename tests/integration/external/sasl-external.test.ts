// SASL EXTERNAL with TLS client certificates (XEP-0178) on a running server, over raw
// sockets: when the mechanism is offered, which identity each certificate yields, and the
// failure condition of every refusal. A failure leaves the stream open for another
// mechanism, as with every SASL failure.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createCertKit, type PemFiles } from './certs.ts';
import { startExternalServer, type ExternalServer } from './server.ts';
import { authExternal, b64, CertWire, failureOf, mechanisms, NS_SASL } from './wire.ts';

const kit = createCertKit();
const certs = {
  alice: kit.client('alice', { cn: 'alice', xmppAddrs: ['alice@localhost'] }),
  aliceAndBob: kit.client('alice-bob', { cn: 'shared', xmppAddrs: ['alice@localhost', 'bob@localhost'] }),
  carolCn: kit.client('carol-cn', { cn: 'carol' }),
  device: kit.client('device', { cn: 'Door Sensor 7' }),
  otherDomain: kit.client('other-domain', { cn: 'alice', xmppAddrs: ['alice@elsewhere.example'] }),
  zoe: kit.client('zoe', { cn: 'zoe', xmppAddrs: ['zoe@localhost'] }),
  expired: kit.client('expired', { cn: 'alice', xmppAddrs: ['alice@localhost'], startDate: '20200101000000Z', endDate: '20200201000000Z' }),
  selfSigned: kit.client('self-signed', { cn: 'alice', xmppAddrs: ['alice@localhost'], selfSigned: true }),
  serverAuthOnly: kit.client('server-auth', { cn: 'alice', xmppAddrs: ['alice@localhost'], eku: 'serverAuth' }),
  unknownCritical: kit.client('critical', { cn: 'alice', xmppAddrs: ['alice@localhost'], extra: ['1.2.3.4.5=critical,ASN1:UTF8String:x'] }),
  otherCa: kit.client('other-ca', { cn: 'alice', xmppAddrs: ['alice@localhost'], issuer: kit.otherCa }),
};

const SASL_TOML = (methods: string) => `
[auth]
sasl_mechanisms = ["SCRAM-SHA-256", "PLAIN", "EXTERNAL"]
sasl_external = [${methods}]
[auth.password]
scram_iterations = 4096
`;

let peer: ExternalServer;
let selfsigned: ExternalServer;
let none: ExternalServer;
beforeAll(async () => {
  [peer, selfsigned, none] = await Promise.all([
    startExternalServer(kit, { verifyMode: 'peer', toml: SASL_TOML('"standard"'), users: ['alice', 'bob', 'carol'] }),
    startExternalServer(kit, { verifyMode: 'selfsigned_peer', toml: SASL_TOML('"standard", "common_name", "auth_id"'), users: ['alice', 'carol', 'dave'] }),
    startExternalServer(kit, { verifyMode: 'none', toml: SASL_TOML('"standard"'), users: ['alice'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([peer?.stop(), selfsigned?.stop(), none?.stop()]);
  kit.remove();
});

const connect = (srv: ExternalServer, client: PemFiles | undefined, how: 'starttls' | 'tls' = 'starttls') =>
  how === 'tls' ? CertWire.directTls(srv.tlsPort, { ca: kit.ca.cert, client }) : CertWire.startTls(srv.starttlsPort, { ca: kit.ca.cert, client });

/** Logs in with EXTERNAL and binds; returns the bound bare JID. */
async function loginExternal(wire: CertWire, authzid: string | null = ''): Promise<string> {
  const answer = await wire.sasl(authExternal(authzid));
  expect(answer).toBe(`<success xmlns='${NS_SASL}'/>`);
  const jid = await wire.bind();
  return jid.split('/')[0]!;
}

async function expectFailure(wire: CertWire, authzid: string | null, condition: string): Promise<void> {
  const answer = await wire.sasl(authExternal(authzid));
  expect(failureOf(answer)).toBe(condition);
}

/** After a failure the same stream still accepts another mechanism. */
async function plainStillWorks(wire: CertWire, user: string): Promise<void> {
  const answer = await wire.sasl(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${b64(`\0${user}\0password`)}</auth>`);
  expect(answer).toBe(`<success xmlns='${NS_SASL}'/>`);
  expect(await wire.bind()).toStartWith(`${user}@localhost/`);
}

describe('verify_mode = "peer", sasl_external = ["standard"]', () => {
  test('STARTTLS: EXTERNAL is offered for a verified certificate and logs in as its xmppAddr', async () => {
    const { wire, features } = await connect(peer, certs.alice);
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'PLAIN', 'EXTERNAL']);
    expect(await loginExternal(wire)).toBe('alice@localhost');
    wire.close();
  });

  test('direct TLS: the same', async () => {
    const { wire, features } = await connect(peer, certs.alice, 'tls');
    expect(mechanisms(features)).toContain('EXTERNAL');
    expect(await loginExternal(wire)).toBe('alice@localhost');
    wire.close();
  });

  test('the authzid naming the certificate\'s address is accepted', async () => {
    const { wire } = await connect(peer, certs.alice);
    expect(await loginExternal(wire, 'alice@localhost')).toBe('alice@localhost');
    wire.close();
  });

  test('no initial response: an empty challenge, then "=" in a response', async () => {
    const { wire } = await connect(peer, certs.alice, 'tls');
    expect(await wire.sasl(authExternal(null))).toBe(`<challenge xmlns='${NS_SASL}'>=</challenge>`);
    expect(await wire.sasl(`<response xmlns='${NS_SASL}'>=</response>`)).toBe(`<success xmlns='${NS_SASL}'/>`);
    expect(await wire.bind()).toStartWith('alice@localhost/');
    wire.close();
  });

  test('two xmppAddrs and no authzid → invalid-authzid; choosing one then works', async () => {
    const { wire } = await connect(peer, certs.aliceAndBob);
    await expectFailure(wire, '', 'invalid-authzid');
    expect(await loginExternal(wire, 'bob@localhost')).toBe('bob@localhost');
    wire.close();
  });

  test('an authzid the certificate does not name → not-authorized; the stream stays open', async () => {
    const { wire } = await connect(peer, certs.alice);
    await expectFailure(wire, 'bob@localhost', 'not-authorized');
    await plainStillWorks(wire, 'bob');
    wire.close();
  });

  test('an authzid of another domain → invalid-authzid', async () => {
    const { wire } = await connect(peer, certs.alice, 'tls');
    await expectFailure(wire, 'alice@elsewhere.example', 'invalid-authzid');
    wire.close();
  });

  test('an xmppAddr of another domain → not-authorized', async () => {
    const { wire, features } = await connect(peer, certs.otherDomain);
    expect(mechanisms(features)).toContain('EXTERNAL');
    await expectFailure(wire, '', 'not-authorized');
    wire.close();
  });

  test('a CN-only certificate is not enough for "standard" → not-authorized', async () => {
    const { wire } = await connect(peer, certs.carolCn);
    await expectFailure(wire, '', 'not-authorized');
    await plainStillWorks(wire, 'carol');
    wire.close();
  });

  test('a certificate for a user without an account → not-authorized', async () => {
    const { wire } = await connect(peer, certs.zoe, 'tls');
    await expectFailure(wire, '', 'not-authorized');
    wire.close();
  });

  test('no client certificate: EXTERNAL is not offered, and asking for it → invalid-mechanism', async () => {
    const { wire, features } = await connect(peer, undefined);
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
    await expectFailure(wire, '', 'invalid-mechanism');
    await plainStillWorks(wire, 'alice');
    wire.close();
  });

  for (const [name, cert] of [
    ['an expired certificate', certs.expired],
    ['a self-signed certificate', certs.selfSigned],
    ['a certificate for servers only (EKU serverAuth)', certs.serverAuthOnly],
    ['a certificate with an unknown critical extension', certs.unknownCritical],
    ['a certificate from an untrusted CA', certs.otherCa],
  ] as const) {
    test(`${name}: EXTERNAL is not offered (STARTTLS and direct TLS)`, async () => {
      for (const how of ['starttls', 'tls'] as const) {
        const { wire, features } = await connect(peer, cert, how);
        expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
        await expectFailure(wire, '', 'invalid-mechanism');
        wire.close();
      }
    });
  }

  test('EXTERNAL counts towards the failure budget like any mechanism', async () => {
    const { wire } = await connect(peer, certs.alice);
    await expectFailure(wire, 'bob@localhost', 'not-authorized');
    await expectFailure(wire, 'bob@localhost', 'not-authorized');
    await expectFailure(wire, 'bob@localhost', 'not-authorized');
    await wire.waitFor('<policy-violation');
    wire.close();
  });
});

describe('verify_mode = "selfsigned_peer", sasl_external = ["standard", "common_name", "auth_id"]', () => {
  test('a self-signed certificate logs in by its xmppAddr', async () => {
    const { wire, features } = await connect(selfsigned, certs.selfSigned);
    expect(mechanisms(features)).toContain('EXTERNAL');
    expect(await loginExternal(wire)).toBe('alice@localhost');
    wire.close();
  });

  test('CA-issued certificates still work', async () => {
    const { wire } = await connect(selfsigned, certs.alice, 'tls');
    expect(await loginExternal(wire)).toBe('alice@localhost');
    wire.close();
  });

  test('common_name: the CN is the username', async () => {
    const { wire } = await connect(selfsigned, certs.carolCn);
    expect(await loginExternal(wire)).toBe('carol@localhost');
    wire.close();
  });

  test('common_name: an authzid naming someone else → invalid-authzid', async () => {
    const { wire } = await connect(selfsigned, certs.carolCn, 'tls');
    await expectFailure(wire, 'alice@localhost', 'invalid-authzid');
    wire.close();
  });

  test('auth_id: a certificate whose CN is no username takes the identity from the authzid', async () => {
    const { wire } = await connect(selfsigned, certs.device);
    expect(await loginExternal(wire, 'dave@localhost')).toBe('dave@localhost');
    wire.close();
  });

  test('auth_id: without an authzid there is no identity → not-authorized', async () => {
    const { wire } = await connect(selfsigned, certs.device, 'tls');
    await expectFailure(wire, '', 'not-authorized');
    wire.close();
  });

  test('an xmppAddr certificate is never read by CN or authzid', async () => {
    const { wire } = await connect(selfsigned, certs.otherDomain);
    await expectFailure(wire, '', 'not-authorized');
    await expectFailure(wire, 'alice@localhost', 'not-authorized');
    wire.close();
  });

  test('still refused: expired, wrong EKU, unknown critical extension', async () => {
    for (const cert of [certs.expired, certs.serverAuthOnly, certs.unknownCritical]) {
      const { wire, features } = await connect(selfsigned, cert);
      expect(mechanisms(features)).not.toContain('EXTERNAL');
      wire.close();
    }
  });
});

describe('verify_mode = "none"', () => {
  test('a certificate the client presents anyway is not used: no EXTERNAL', async () => {
    const { wire, features } = await connect(none, certs.alice);
    expect(mechanisms(features)).toEqual(['SCRAM-SHA-256', 'PLAIN']);
    wire.close();
  });
});
