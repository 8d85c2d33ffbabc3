// slixmpp (Debian's python3-slixmpp) as an IM client: it reads disco#info of the server, and
// an xmpp.js user subscribes to it; slixmpp approves and asks back on its own, as it does by
// default, and both rosters end at "both" with presence flowing and an unavailable at the end.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { client, xml, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { JsonLines } from '../../helpers/json-lines.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dir, 'slixmpp_im.py');

let ts: TestServer;
let caFile: string;

beforeAll(async () => {
  ts = await startTestServer({
    users: { 'sam@localhost': 'sam-secret', 'alice@localhost': 'alice-secret' },
    // slixmpp 1.8 knows only the tls-unique binding (absent in TLS 1.3): offer no -PLUS.
    toml: '[auth]\nsasl_mechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]\n',
  });
  trustCa(ts.ca);
  caFile = join(ts.dataDir, 'test-ca.pem');
  await writeFile(caFile, ts.ca);
});

afterAll(async () => {
  await ts.stop();
});

test('slixmpp reads disco#info and completes a two-way subscription with an xmpp.js user', async () => {
  let stderr = '';
  const proc = spawn(PYTHON, [SCRIPT, String(ts.c2sPort), caFile, 'sam@localhost/py', 'sam-secret'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const reports = new JsonLines(proc, ['timeout']);
  const alice = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource: 'web', username: 'alice', password: 'alice-secret' });
  alice.reconnect.stop();
  alice.on('error', () => {});
  try {
    const session = await reports.next((r) => r.event === 'session_start', 30_000);
    expect(session.identities).toEqual([['server', 'im']]);
    expect(session.features).toEqual(expect.arrayContaining(['jabber:iq:roster', 'msgoffline', 'http://jabber.org/protocol/disco#info']));

    const stanzas: XmlElement[] = [];
    alice.on('stanza', (s: XmlElement) => stanzas.push(s));
    await alice.start();
    await alice.iqCaller.request(xml('iq', { type: 'get' }, xml('query', { xmlns: 'jabber:iq:roster' })));
    await alice.send(xml('presence'));
    await alice.send(xml('presence', { to: 'sam@localhost', type: 'subscribe' }));

    // slixmpp approves (roster push "from") and asks back; alice approves in turn.
    await reports.next((r) => r.event === 'roster' && r.jid === 'alice@localhost' && r.subscription === 'from', 30_000);
    const asked = await waitFor(stanzas, (s) => s.is('presence') && s.attrs.type === 'subscribe' && s.attrs.from === 'sam@localhost');
    expect(asked.attrs.to).toBe('alice@localhost');
    await alice.send(xml('presence', { to: 'sam@localhost', type: 'subscribed' }));
    await reports.next((r) => r.event === 'roster' && r.jid === 'alice@localhost' && r.subscription === 'both', 30_000);
    await reports.next((r) => r.event === 'available' && r.frm === 'alice@localhost/web', 30_000);
    await waitFor(stanzas, (s) => s.is('presence') && s.attrs.from === 'sam@localhost/py' && s.attrs.type === undefined);

    // alice leaves: slixmpp sees her unavailable.
    await alice.stop();
    await reports.next((r) => r.event === 'unavailable' && r.frm === 'alice@localhost/web', 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\nslixmpp stderr:\n${stderr.slice(-4000)}`);
  } finally {
    proc.kill();
    await alice.stop().catch(() => {});
  }
}, 30_000);

async function waitFor(stanzas: XmlElement[], match: (s: XmlElement) => boolean): Promise<XmlElement> {
  for (;;) {
    const found = stanzas.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
}
