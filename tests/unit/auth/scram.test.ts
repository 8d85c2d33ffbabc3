import { beforeAll, describe, expect, test } from 'bun:test';
import { Buffer } from 'node:buffer';
import { DEFAULT_ITERATIONS, SALT_BYTES, deriveCredentials, type ScramHash, type StoredCredentials } from '../../../server/auth/credentials.ts';
import {
  scramSha1Mechanism,
  scramSha256Mechanism,
  scramSha256PlusMechanism,
  scramSha512Mechanism,
  scramSha512PlusMechanism,
  type SaslContext,
  type SaslFailureCondition,
  type SaslMechanism,
  type SaslStep,
} from '../../../server/auth/sasl/index.ts';
import { TestScramClient, challengeText, makeContext, text, utf8 } from './helpers.ts';

const MECHANISM: Record<ScramHash, SaslMechanism> = {
  'SHA-1': scramSha1Mechanism,
  'SHA-256': scramSha256Mechanism,
  'SHA-512': scramSha512Mechanism,
};

let users: Record<string, StoredCredentials>;
beforeAll(async () => {
  users = {
    juliet: await deriveCredentials('r0m30myr0m30', { iterations: 4096 }),
    'a,b=c': await deriveCredentials('secret', { iterations: 4096, hashes: ['SHA-256'] }),
    sha1only: await deriveCredentials('secret', { iterations: 4096, hashes: ['SHA-1'] }),
  };
});

const EXPORTER = new Uint8Array(32).fill(0xe1);
const END_POINT = new Uint8Array(32).fill(0x5e);

async function run(
  mechanism: SaslMechanism,
  ctx: SaslContext,
  client: TestScramClient,
  tamper?: Parameters<TestScramClient['final']>[1],
): Promise<SaslStep> {
  const exchange = mechanism.start(ctx);
  const first = await exchange.step(client.first());
  if (first.kind !== 'challenge') return first;
  return exchange.step(client.final(text(first.data), tamper));
}

function expectFailure(step: SaslStep, condition: SaslFailureCondition): void {
  expect(step.kind).toBe('failure');
  if (step.kind === 'failure') expect(step.condition).toBe(condition);
}

describe('SCRAM round trips with an independent client', () => {
  for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as const) {
    test(`SCRAM-${hash}: right password succeeds and returns the server signature`, async () => {
      const client = new TestScramClient({ hash, username: 'juliet', password: 'r0m30myr0m30', clientNonce: 'abcdefghijklmnop' });
      const result = await run(MECHANISM[hash], makeContext({ users }), client);
      expect(result.kind).toBe('success');
      if (result.kind !== 'success') return;
      expect(text(result.data)).toBe(client.expectedServerFinal());
      expect(result.authcid).toBe('juliet');
    });

    test(`SCRAM-${hash}: wrong password fails with not-authorized`, async () => {
      const client = new TestScramClient({ hash, username: 'juliet', password: 'wrong' });
      expectFailure(await run(MECHANISM[hash], makeContext({ users }), client), 'not-authorized');
    });
  }

  test('server-first carries the stored salt and iteration count, and a fresh CSPRNG nonce', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const exchange = scramSha512Mechanism.start(makeContext({ users }));
      const serverFirst = challengeText(await exchange.step(utf8('n,,n=juliet,r=clientnonce')));
      const [r, s, it] = serverFirst.split(',');
      expect(r).toMatch(/^r=clientnonce[\x21-\x2B\x2D-\x7E]{16,}$/);
      expect(s).toBe(`s=${users.juliet!['SHA-512']!.salt}`);
      expect(it).toBe('i=4096');
      seen.add(r!);
    }
    expect(seen.size).toBe(2);
  });

  test('usernames with "," and "=" travel escaped and come back decoded', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'a,b=c', password: 'secret' });
    expect(client.bare).toStartWith('n=a=2Cb=3Dc,');
    const result = await run(scramSha256Mechanism, makeContext({ users }), client);
    expect(result.kind === 'success' && result.authcid).toBe('a,b=c');
  });

  test('the username is SASLprep\'d before lookup and returned prepared', async () => {
    const lookups: string[] = [];
    const client = new TestScramClient({ hash: 'SHA-256', username: 'jul\u00ADiet', password: 'r0m30myr0m30' });
    const result = await run(scramSha256Mechanism, makeContext({ users, lookups }), client);
    expect(lookups).toEqual(['juliet']);
    expect(result.kind === 'success' && result.authcid).toBe('juliet');
  });

  test('a username SASLprep prohibits is refused', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    expectFailure(await exchange.step(utf8('n,,n=jul\u0007iet,r=abc')), 'not-authorized');
  });

  test('unknown optional extensions are ignored in both client messages', async () => {
    // The extension rides after the nonce, so the client's signed bare message includes it.
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', clientNonce: 'abc,x=future' });
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    const serverFirst = challengeText(await exchange.step(client.first()));
    expect(serverFirst).toStartWith('r=abc');
    const result = await exchange.step(client.final(serverFirst, { extensions: ',y=also' }));
    expect(result.kind).toBe('success');
  });

  test('a storage error is a temporary failure, not a wrong password', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30' });
    expectFailure(await run(scramSha256Mechanism, makeContext({ users, failLookup: true }), client), 'temporary-auth-failure');
  });
});

describe('SCRAM unknown users', () => {
  async function serverFirstFor(mechanism: SaslMechanism, username: string): Promise<Record<string, string>> {
    const exchange = mechanism.start(makeContext({ users }));
    const serverFirst = challengeText(await exchange.step(utf8(`n,,n=${username},r=abc`)));
    return Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
  }

  test('proceed to the proof and fail there with not-authorized', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'nobody', password: 'anything' });
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    const first = await exchange.step(client.first());
    expect(first.kind).toBe('challenge');
    expectFailure(await exchange.step(client.final(challengeText(first))), 'not-authorized');
  });

  test('get a salt that is stable per username, differs between usernames, and looks real', async () => {
    const a1 = await serverFirstFor(scramSha256Mechanism, 'nobody');
    const a2 = await serverFirstFor(scramSha256Mechanism, 'nobody');
    const b = await serverFirstFor(scramSha256Mechanism, 'someone');
    expect(a1.s).toBe(a2.s!);
    expect(a1.s).not.toBe(b.s!);
    expect(Buffer.from(a1.s!, 'base64').length).toBe(SALT_BYTES);
    expect(a1.i).toBe(String(DEFAULT_ITERATIONS['SHA-256']));
  });

  test('advertise the iteration count new accounts get, so i= does not tell them apart', async () => {
    const exchange = scramSha256Mechanism.start({ ...makeContext({ users }), decoyIterations: 4096 });
    const serverFirst = challengeText(await exchange.step(utf8('n,,n=nobody,r=abc')));
    expect(serverFirst).toContain(',i=4096');
  });

  test('the decoy salt also differs per hash, as real credentials do', async () => {
    const sha256 = await serverFirstFor(scramSha256Mechanism, 'nobody');
    const sha512 = await serverFirstFor(scramSha512Mechanism, 'nobody');
    expect(sha256.s).not.toBe(sha512.s!);
  });

  test('an account without credentials for the chosen hash is treated like an unknown user', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'sha1only', password: 'secret' });
    expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client), 'not-authorized');
    const ok = new TestScramClient({ hash: 'SHA-1', username: 'sha1only', password: 'secret' });
    expect((await run(scramSha1Mechanism, makeContext({ users }), ok)).kind).toBe('success');
  });
});

describe('SCRAM authzid', () => {
  test('authcid@host is accepted and returned', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'n,a=juliet@example.com,' });
    const result = await run(scramSha256Mechanism, makeContext({ users }), client);
    expect(result.kind).toBe('success');
    if (result.kind === 'success') expect(result.authzid).toBe('juliet@example.com');
  });

  test('ASCII case differences in the own bare JID are accepted', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'n,a=Juliet@Example.COM,' });
    expect((await run(scramSha256Mechanism, makeContext({ users }), client)).kind).toBe('success');
  });

  test('an escaped authzid is decoded before comparison', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'a,b=c', password: 'secret', gs2Header: 'n,a=a=2Cb=3Dc@example.com,' });
    const result = await run(scramSha256Mechanism, makeContext({ users }), client);
    expect(result.kind === 'success' && result.authzid).toBe('a,b=c@example.com');
  });

  test('a foreign authzid fails with invalid-authzid', async () => {
    for (const authzid of ['romeo@example.com', 'juliet@example.org', 'juliet@example.com/balcony', 'example.com']) {
      const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: `n,a=${authzid},` });
      expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client), 'invalid-authzid');
    }
  });

  test('a foreign authzid with a wrong password is just not-authorized', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'nope', gs2Header: 'n,a=romeo@example.com,' });
    expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client), 'not-authorized');
  });

  test('an explicit authorization policy may allow a foreign authzid', async () => {
    const asked: string[] = [];
    const authorize = async (authcid: string, authzid: string) => {
      asked.push(`${authcid}->${authzid}`);
      return authzid === 'romeo@example.com';
    };
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'n,a=romeo@example.com,' });
    const result = await run(scramSha256Mechanism, makeContext({ users, authorize }), client);
    expect(result.kind === 'success' && result.authzid).toBe('romeo@example.com');
    expect(asked).toEqual(['juliet->romeo@example.com']);
  });
});

describe('SCRAM -PLUS channel binding', () => {
  const tls = { 'tls-exporter': EXPORTER, 'tls-server-end-point': END_POINT };
  const offeredPlus = ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'];

  test('tls-exporter with the right data succeeds', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-exporter,,', cbData: EXPORTER });
    const result = await run(scramSha256PlusMechanism, makeContext({ users, channelBinding: tls }), client);
    expect(result.kind).toBe('success');
    if (result.kind === 'success') expect(text(result.data)).toBe(client.expectedServerFinal());
  });

  test('tls-server-end-point with the right data succeeds (SHA-512-PLUS)', async () => {
    const client = new TestScramClient({ hash: 'SHA-512', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-server-end-point,,', cbData: END_POINT });
    expect((await run(scramSha512PlusMechanism, makeContext({ users, channelBinding: tls }), client)).kind).toBe('success');
  });

  test('-PLUS with an authzid binds the whole gs2 header', async () => {
    const client = new TestScramClient({
      hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-exporter,a=juliet@example.com,', cbData: EXPORTER,
    });
    expect((await run(scramSha256PlusMechanism, makeContext({ users, channelBinding: tls }), client)).kind).toBe('success');
  });

  test('wrong binding data fails with not-authorized (a man in the middle sees a different TLS session)', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-exporter,,', cbData: new Uint8Array(32).fill(0x66) });
    expectFailure(await run(scramSha256PlusMechanism, makeContext({ users, channelBinding: tls }), client), 'not-authorized');
  });

  test('binding data of the other type under the named type fails', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-exporter,,', cbData: END_POINT });
    expectFailure(await run(scramSha256PlusMechanism, makeContext({ users, channelBinding: tls }), client), 'not-authorized');
  });

  test('c= with the gs2 header only (binding data left out) fails', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'p=tls-exporter,,' });
    expectFailure(await run(scramSha256PlusMechanism, makeContext({ users, channelBinding: tls }), client), 'not-authorized');
  });

  test('a binding type we have no data for, or do not know, fails', async () => {
    for (const header of ['p=tls-unique,,', 'p=tls-foo,,']) {
      const exchange = scramSha256PlusMechanism.start(makeContext({ users, channelBinding: tls }));
      expectFailure(await exchange.step(utf8(`${header}n=juliet,r=abc`)), 'not-authorized');
    }
  });

  test('p= on a connection without TLS fails with encryption-required', async () => {
    const exchange = scramSha256PlusMechanism.start(makeContext({ users }));
    expectFailure(await exchange.step(utf8('p=tls-exporter,,n=juliet,r=abc')), 'encryption-required');
  });

  test('p= with a non-PLUS mechanism is malformed', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users, channelBinding: tls }));
    expectFailure(await exchange.step(utf8('p=tls-exporter,,n=juliet,r=abc')), 'malformed-request');
  });

  test('a -PLUS mechanism with n or y is malformed', async () => {
    for (const header of ['n,,', 'y,,']) {
      const exchange = scramSha256PlusMechanism.start(makeContext({ users, channelBinding: tls }));
      expectFailure(await exchange.step(utf8(`${header}n=juliet,r=abc`)), 'malformed-request');
    }
  });

  test('"y" while we offered -PLUS is a downgrade and fails', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'y,,' });
    const exchange = scramSha256Mechanism.start(makeContext({ users, channelBinding: tls, offeredMechanisms: offeredPlus }));
    const step = await exchange.step(client.first());
    expectFailure(step, 'not-authorized');
    expect(step.kind === 'failure' && step.text).toContain('downgrade');
  });

  test('"y" when no -PLUS was offered is fine', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'y,,' });
    const ctx = makeContext({ users, channelBinding: tls, offeredMechanisms: ['SCRAM-SHA-256', 'PLAIN'] });
    expect((await run(scramSha256Mechanism, ctx, client)).kind).toBe('success');
  });

  test('"n" on TLS while -PLUS was offered is allowed (client does not support binding)', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30' });
    const ctx = makeContext({ users, channelBinding: tls, offeredMechanisms: offeredPlus });
    expect((await run(scramSha256Mechanism, ctx, client)).kind).toBe('success');
  });

  test('c= must repeat the gs2 header actually sent: "y,," then c=biws ("n,,") fails', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', gs2Header: 'y,,' });
    expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client, { c: 'biws' }), 'not-authorized');
  });
});

describe('SCRAM nonce and proof checks', () => {
  const client = () => new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30', clientNonce: 'clientnonce' });
  const serverNonce = 'servernonce';

  test('final nonce equal to the client nonce alone fails', async () => {
    const ctx = makeContext({ users, serverNonce });
    expectFailure(await run(scramSha256Mechanism, ctx, client(), { r: 'clientnonce' }), 'not-authorized');
  });

  test('final nonce with anything appended or altered fails', async () => {
    for (const r of ['clientnonceservernonceX', 'clientnonceservernonc', 'Clientnonceservernonce', 'otherservernonce']) {
      const ctx = makeContext({ users, serverNonce });
      expectFailure(await run(scramSha256Mechanism, ctx, client(), { r }), 'not-authorized');
    }
  });

  test('a proof with one bit flipped fails', async () => {
    const flip = (p: Buffer) => {
      const q = Buffer.from(p);
      q[0]! ^= 1;
      return q;
    };
    expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client(), { proof: flip }), 'not-authorized');
  });

  test('a proof of the wrong length is malformed', async () => {
    const short = (p: Buffer) => p.subarray(0, 20);
    expectFailure(await run(scramSha256Mechanism, makeContext({ users }), client(), { proof: short }), 'malformed-request');
  });
});

describe('SCRAM malformed client-first-message', () => {
  const cases: [string, string | Uint8Array][] = [
    ['empty message', ''],
    ['gs2 header only', 'n,,'],
    ['unknown cbind flag', 'x,,n=user,r=abc'],
    ['upper-case flag', 'N,,n=user,r=abc'],
    ['missing second comma', 'n,n=user,r=abc'],
    ['non-standard GS2 "F," prefix', 'F,n,,n=user,r=abc'],
    ['p without name', 'p,,n=user,r=abc'],
    ['p with empty name', 'p=,,n=user,r=abc'],
    ['p with invalid name', 'p=tls exporter,,n=user,r=abc'],
    ['empty authzid', 'n,a=,n=user,r=abc'],
    ['authzid with bad escape', 'n,a=us=2Der@example.com,n=user,r=abc'],
    ['authzid with lone =', 'n,a=user=@example.com,n=user,r=abc'],
    ['something other than a= in the header', 'n,b=user,n=user,r=abc'],
    ['attributes out of order', 'n,,r=abc,n=user'],
    ['missing nonce', 'n,,n=user'],
    ['empty username', 'n,,n=,r=abc'],
    ['username with bad escape', 'n,,n=us=er,r=abc'],
    ['username with =2c (lower case escape)', 'n,,n=us=2cer,r=abc'],
    ['empty nonce', 'n,,n=user,r='],
    ['nonce with a space', 'n,,n=user,r=a bc'],
    ['nonce with non-ASCII', 'n,,n=user,r=abc\u00e9'],
    ['trailing comma', 'n,,n=user,r=abc,'],
    ['extension without value', 'n,,n=user,r=abc,x='],
    ['extension without =', 'n,,n=user,r=abc,x'],
    ['extension with a long name', 'n,,n=user,r=abc,xy=1'],
    ['a defined attribute repeated as extension', 'n,,n=user,r=abc,r=def'],
    ['mandatory extension m= first', 'n,,m=must-understand,n=user,r=abc'],
    ['mandatory extension m= later', 'n,,n=user,r=abc,m=must-understand'],
    ['NUL byte', 'n,,n=user,r=abc\u0000'],
    ['invalid UTF-8', new Uint8Array([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xc3, 0x28, 0x2c, 0x72, 0x3d, 0x61])],
    ['oversized message', `n,,n=user,r=${'a'.repeat(5000)}`],
  ];
  for (const [name, message] of cases) {
    test(`${name} → malformed-request`, async () => {
      const exchange = scramSha256Mechanism.start(makeContext({ users }));
      const bytes = typeof message === 'string' ? utf8(message) : message;
      expectFailure(await exchange.step(bytes), 'malformed-request');
    });
  }

  test('no message after the empty challenge → malformed-request', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    expect(challengeText(await exchange.step(null))).toBe('');
    expectFailure(await exchange.step(null), 'malformed-request');
  });
});

describe('SCRAM malformed client-final-message', () => {
  const N = 'clientnonceservernonce';
  const proof = Buffer.alloc(32, 1).toString('base64');
  const cases: [string, string, SaslFailureCondition][] = [
    ['empty message', '', 'malformed-request'],
    ['no proof', `c=biws,r=${N}`, 'malformed-request'],
    ['c= and r= swapped', `r=${N},c=biws,p=${proof}`, 'malformed-request'],
    ['proof not last', `c=biws,p=${proof},r=${N}`, 'malformed-request'],
    ['attribute after the proof', `c=biws,r=${N},p=${proof},x=1`, 'malformed-request'],
    ['empty proof', `c=biws,r=${N},p=`, 'malformed-request'],
    ['empty channel binding', `c=,r=${N},p=${proof}`, 'malformed-request'],
    ['mandatory extension', `c=biws,r=${N},m=x,p=${proof}`, 'malformed-request'],
    ['defined attribute as extension', `c=biws,r=${N},s=x,p=${proof}`, 'malformed-request'],
    ['nonce with a space', `c=biws,r=client nonce,p=${proof}`, 'malformed-request'],
    ['NUL byte', `c=biws,r=${N},p=${proof}\u0000`, 'malformed-request'],
    ['c= not base64', `c=b!ws,r=${N},p=${proof}`, 'incorrect-encoding'],
    ['c= base64 without padding', `c=bix,r=${N},p=${proof}`, 'incorrect-encoding'],
    ['p= not base64', `c=biws,r=${N},p=@@@@`, 'incorrect-encoding'],
    ['p= base64 with non-zero pad bits', `c=biws,r=${N},p=AQF=`, 'incorrect-encoding'],
    ['p= base64 with whitespace', `c=biws,r=${N},p=AQEB AQEB`, 'incorrect-encoding'],
  ];
  for (const [name, message, condition] of cases) {
    test(`${name} → ${condition}`, async () => {
      const exchange = scramSha256Mechanism.start(makeContext({ users, serverNonce: 'servernonce' }));
      challengeText(await exchange.step(utf8('n,,n=juliet,r=clientnonce')));
      expectFailure(await exchange.step(utf8(message)), condition);
    });
  }

  test('invalid UTF-8 → malformed-request', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    challengeText(await exchange.step(utf8('n,,n=juliet,r=clientnonce')));
    expectFailure(await exchange.step(new Uint8Array([0x63, 0x3d, 0xff])), 'malformed-request');
  });

  test('no data where the final message belongs → malformed-request', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    challengeText(await exchange.step(utf8('n,,n=juliet,r=clientnonce')));
    expectFailure(await exchange.step(null), 'malformed-request');
  });
});

describe('SaslExchange calling contract', () => {
  test('step after success or failure throws', async () => {
    const client = new TestScramClient({ hash: 'SHA-256', username: 'juliet', password: 'r0m30myr0m30' });
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    const first = await exchange.step(client.first());
    expect((await exchange.step(client.final(challengeText(first)))).kind).toBe('success');
    await expect(exchange.step(utf8('again'))).rejects.toThrow('already finished');

    const failed = scramSha256Mechanism.start(makeContext({ users }));
    expect((await failed.step(utf8('junk'))).kind).toBe('failure');
    await expect(failed.step(utf8('n,,n=juliet,r=abc'))).rejects.toThrow('already finished');
  });

  test('a second step while one is pending throws', async () => {
    const exchange = scramSha256Mechanism.start(makeContext({ users }));
    const pending = exchange.step(utf8('n,,n=juliet,r=abc'));
    await expect(exchange.step(utf8('c=biws,r=abc,p=AAAA'))).rejects.toThrow('in progress');
    expect((await pending).kind).toBe('challenge');
  });
});
