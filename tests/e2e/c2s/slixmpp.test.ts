// slixmpp (Debian's python3-slixmpp) logs in with SCRAM-SHA-256 over STARTTLS and talks
// with an xmpp.js user through the server, both ways.
//
// The server offers no -PLUS mechanism here: slixmpp 1.8 only knows the tls-unique
// binding, which TLS 1.3 does not have, and when made to use a plain SCRAM while -PLUS
// is offered it sends the "y" flag, which RFC 5802 §6 requires us to refuse as a
// downgrade. Without -PLUS on offer it picks SCRAM-SHA-256 by itself.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { JsonLines } from '../../helpers/json-lines.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dir, 'slixmpp_client.py');

let ts: TestServer;
let caFile: string;

beforeAll(async () => {
  ts = await startTestServer({
    users: { 'sam@localhost': 'sam-secret', 'alice@localhost': 'alice-secret' },
    toml: '[auth]\nsasl_mechanisms = ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]\n',
  });
  trustCa(ts.ca);
  caFile = join(ts.dataDir, 'test-ca.pem');
  await writeFile(caFile, ts.ca);
});

afterAll(async () => {
  await ts.stop();
});

function nextMessage(xmpp: Client): Promise<XmlElement> {
  return new Promise((resolve) => {
    const on = (stanza: XmlElement) => {
      if (!stanza.is('message')) return;
      xmpp.removeListener('stanza', on);
      resolve(stanza);
    };
    xmpp.on('stanza', on);
  });
}

test('slixmpp with SCRAM-SHA-256 and an xmpp.js user exchange messages', async () => {
  const alice = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource: 'web', username: 'alice', password: 'alice-secret' });
  alice.reconnect.stop();
  alice.on('error', () => {});
  await alice.start();
  await alice.send(xml('presence'));
  const first = nextMessage(alice);

  let stderr = '';
  const proc = spawn(PYTHON, [SCRIPT, String(ts.c2sPort), caFile, 'sam@localhost/py', 'sam-secret', 'alice@localhost', 'SCRAM-SHA-256'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const reports = new JsonLines(proc, ['failed_auth']);
  try {
    const session = await reports.next('session_start');
    expect(session.jid).toBe('sam@localhost/py');
    expect(session.mechanism).toBe('SCRAM-SHA-256');
    expect(session.tls).toBe(true);

    // slixmpp → alice (a bare-JID message: alice is available).
    const hello = await first;
    expect(hello.attrs.from).toBe('sam@localhost/py');
    expect(hello.getChildText('body')).toBe('hello from slixmpp');

    // alice → slixmpp, and its echo back.
    const echo = nextMessage(alice);
    await alice.send(xml('message', { to: 'sam@localhost/py', type: 'chat' }, xml('body', {}, 'grüße, 世界 & <friends>')));
    const got = await reports.next('message');
    expect(got.frm).toBe('alice@localhost/web');
    expect(got.body).toBe('grüße, 世界 & <friends>');
    const back = await echo;
    expect(back.getChildText('body')).toBe('echo: grüße, 世界 & <friends>');

    await alice.send(xml('message', { to: 'sam@localhost/py', type: 'chat' }, xml('body', {}, 'bye')));
    await reports.next('disconnected');
  } catch (err) {
    throw new Error(`${(err as Error).message}\nslixmpp stderr:\n${stderr}`);
  } finally {
    proc.kill();
    await alice.stop().catch(() => {});
  }
}, 20_000);
