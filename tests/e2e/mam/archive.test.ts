// The archive and the inbox against a really started server with real clients:
//   - alice (xmpp.js) talks with sam; sam (slixmpp, xep_0313) then pages through his archive
//     in RSM pages of 2 and finds the whole conversation in order, each with its stanza-id;
//   - the inbox with xmpp.js: custom IQs for the query, a displayed marker, an archive box move;
//   - deleting an account (mod_register's in-band cancel) removes its archive and inbox.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dir, 'slixmpp_mam.py');
const INBOX = 'erlang-solutions.com:xmpp:inbox:0';

let ts: TestServer;
let caFile: string;
const started: Client[] = [];

beforeAll(async () => {
  ts = await startTestServer({
    users: { 'sam@localhost': 'sam-secret', 'alice@localhost': 'alice-secret', 'bob@localhost': 'bob-secret' },
    toml: `[auth]\nsasl_mechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]\n
[modules.mod_ping]\n[modules.mod_roster]\n[modules.mod_offline]\n[modules.mod_disco]\n[modules.mod_mam]\n[modules.mod_inbox]\n[modules.mod_register]\n`,
  });
  trustCa(ts.ca);
  caFile = join(ts.dataDir, 'test-ca.pem');
  await writeFile(caFile, ts.ca);
});

afterAll(async () => {
  for (const c of started) await c.stop().catch(() => {});
  await ts.stop();
});

interface Person { xmpp: Client; seen: XmlElement[] }

async function login(user: string): Promise<Person> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource: 'web', username: user, password: `${user}-secret` });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  started.push(xmpp);
  const seen: XmlElement[] = [];
  xmpp.on('stanza', (s: XmlElement) => seen.push(s));
  await xmpp.start();
  await xmpp.send(xml('presence'));
  return { xmpp, seen };
}

async function waitFor(stanzas: XmlElement[], match: (s: XmlElement) => boolean): Promise<XmlElement> {
  for (let i = 0; i < 500; i++) {
    const found = stanzas.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('stanza never arrived');
}

test('slixmpp pages through its archive after a conversation with xmpp.js', async () => {
  const alice = await login('alice');
  // sam is offline: the messages are archived once for him and stored offline.
  for (let i = 1; i <= 5; i++) await alice.xmpp.send(xml('message', { to: 'sam@localhost', type: 'chat', id: `a${i}` }, xml('body', {}, `hello ${i}`)));
  await alice.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));

  let stderr = '';
  let out = '';
  const proc = spawn(PYTHON, [SCRIPT, String(ts.c2sPort), caFile, 'sam@localhost/py', 'sam-secret', 'alice@localhost'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise((resolve) => proc.on('exit', resolve));
  const reports = out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as { event: string; [k: string]: unknown });
  const archive = reports.find((r) => r.event === 'archive') as { messages: Array<{ id: string; body: string; from: string; stamp: string }> } | undefined;
  if (archive === undefined) throw new Error(`no archive report: ${out}\n${stderr.slice(-3000)}`);
  expect(archive.messages.map((m) => m.body)).toEqual(['hello 1', 'hello 2', 'hello 3', 'hello 4', 'hello 5']);
  expect(archive.messages.every((m) => m.from === 'alice@localhost/web')).toBe(true);
  const ids = archive.messages.map((m) => Number(m.id));
  expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  expect(new Set(ids).size).toBe(5);
  const features = reports.find((r) => r.event === 'features') as unknown as { features: string[] };
  expect(features.features).toEqual(expect.arrayContaining(['urn:xmpp:mam:2', 'urn:xmpp:mam:2#extended']));
  // Alice's own archive has her side.
  expect(await ts.server.storage.archive.count('localhost', 'alice')).toBe(5);
}, 30_000);

test('xmpp.js: inbox query, displayed marker, archive box; account deletion removes archive and inbox', async () => {
  const alice = await login('alice');
  const bob = await login('bob');
  await alice.xmpp.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'b1' }, xml('body', {}, 'first')));
  await alice.xmpp.send(xml('message', { to: 'bob@localhost', type: 'chat', id: 'b2' }, xml('body', {}, 'second')));
  const delivered = await waitFor(bob.seen, (s) => s.is('message') && s.getChildText('body') === 'second');
  expect(delivered.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs.by).toBe('bob@localhost');

  const fetchInbox = async (p: Person, queryid: string) => {
    const fin = await p.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('inbox', { xmlns: INBOX, queryid })));
    const results = p.seen.filter((s) => s.is('message') && s.getChild('result', INBOX)?.attrs.queryid === queryid).map((s) => s.getChild('result', INBOX)!);
    return { fin: fin.getChild('fin', INBOX)!, results };
  };
  const first = await fetchInbox(bob, 'q1');
  expect(first.results).toHaveLength(1);
  expect(first.results[0].attrs.unread).toBe('2');
  expect(first.results[0].getChild('forwarded', 'urn:xmpp:forward:0')!.getChild('message')!.getChildText('body')).toBe('second');
  expect(first.fin.getChildText('count')).toBe('1');
  expect(first.fin.getChildText('unread-messages')).toBe('2');
  expect(first.fin.getChildText('active-conversations')).toBe('1');

  await bob.xmpp.send(xml('message', { to: 'alice@localhost' }, xml('displayed', { xmlns: 'urn:xmpp:chat-markers:0', id: 'b2' })));
  await bob.xmpp.iqCaller.request(xml('iq', { type: 'get', to: 'localhost' }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  const second = await fetchInbox(bob, 'q2');
  expect(second.results[0].attrs.unread).toBe('0');
  expect(second.fin.getChildText('unread-messages')).toBe('0');

  const moved = await bob.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: `${INBOX}#conversation`, jid: 'alice@localhost' }, xml('box', {}, 'archive'))));
  expect(moved.getChild('query')!.getChildText('archive')).toBe('true');

  expect(await ts.server.storage.archive.count('localhost', 'bob')).toBe(2);
  // Bob deletes his account (XEP-0077 <remove/>).
  await bob.xmpp.iqCaller.request(xml('iq', { type: 'set' }, xml('query', { xmlns: 'jabber:iq:register' }, xml('remove')))).catch(() => undefined);
  for (let i = 0; i < 100 && (await ts.server.storage.users.get('localhost', 'bob')) !== undefined; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await ts.server.storage.users.get('localhost', 'bob')).toBeUndefined();
  expect(await ts.server.storage.archive.count('localhost', 'bob')).toBe(0);
  expect((await ts.server.storage.inbox.query('localhost', 'bob', { order: 'desc', unreadOnly: false })).entries).toEqual([]);
  // Alice keeps her side of the conversation.
  expect(await ts.server.storage.archive.count('localhost', 'alice')).toBeGreaterThanOrEqual(2);
  expect((await ts.server.storage.inbox.query('localhost', 'alice', { order: 'desc', unreadOnly: false })).entries.map((e) => e.remote)).toContain('bob@localhost');
}, 30_000);
