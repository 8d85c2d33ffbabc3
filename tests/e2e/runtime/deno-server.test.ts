// Meerkat on Deno 2: the same entry point, started with `deno run`, serves a real client
// (xmpp.js under Bun) over STARTTLS — runtime layer (node:net/node:tls) and SQLite driver
// (node:sqlite) included.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { client, xml } from '@xmpp/client';
import { freePorts } from '../../helpers/ports.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { repo, startDenoServer, stopDenoServer } from '../../helpers/deno-server.ts';

const ctl = join(repo, 'bin', 'meerkatctl');

let dir: string;
let server: ChildProcess;
let c2sPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'meerkat-deno-'));
  const [p1, p2, p3, p4] = await freePorts(4);
  c2sPort = p1;
  const env = {
    ...process.env,
    MEERKAT_LISTEN__C2S__0__PORT: String(p1),
    MEERKAT_LISTEN__C2S__1__PORT: String(p2),
    MEERKAT_LISTEN__HTTP__0__PORT: String(p3),
    MEERKAT_LISTEN__ADMIN__PORT: String(p4),
    MEERKAT_AUTH__PASSWORD__SCRAM_ITERATIONS: '4096',
  };
  server = await startDenoServer(dir, env);
  for (const [user, pw] of [['alice', 'wonderland'], ['bob', 'builder']]) {
    const r = spawnSync(ctl, ['user', 'add', `${user}@localhost`, pw], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
  }
  trustCa(readFileSync(join(dir, 'var', 'dev-cert.pem'), 'utf8'));
}, 60_000);

afterAll(async () => {
  if (server) expect(await stopDenoServer(server)).toBe(0);
  rmSync(dir, { recursive: true, force: true });
}, 20_000);

test('a Deno-run Meerkat logs in two xmpp.js users over STARTTLS and routes a message', async () => {
  const make = (username: string, password: string) =>
    client({ service: `xmpp://localhost:${c2sPort}`, domain: 'localhost', username, password, resource: 'deno' });
  const alice = make('alice', 'wonderland');
  const bob = make('bob', 'builder');
  const got = new Promise<string>((resolve) => {
    bob.on('stanza', (s) => {
      if (s.is('message')) resolve(`${s.attrs.from}|${s.getChildText('body')}`);
    });
  });
  await alice.start();
  await bob.start();
  await bob.send(xml('presence'));
  await alice.send(xml('message', { to: 'bob@localhost', type: 'chat' }, xml('body', {}, 'hello from Deno land')));
  expect(await got).toBe('alice@localhost/deno|hello from Deno land');
  await alice.stop();
  await bob.stop();
}, 30_000);
