// The gateway over TCP: a sipp UAC on one TCP connection calls a Meerkat user who answers
// and hangs up (the BYE goes back over the same connection); an offline user gets 480.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { freePorts } from '../../helpers/ports.ts';
import { runSipp, sippAvailable, type SippRun } from './sipp.ts';

const NS_JINGLE = 'urn:xmpp:jingle:1';
let ts: TestServer;
let gatewayPort: number;
const sipps: SippRun[] = [];
let dave: Client | undefined;

if (!sippAvailable) throw new Error('sipp is not installed (apt-get install sip-tester)');

beforeAll(async () => {
  [gatewayPort] = await freePorts(1);
  ts = await startTestServer({
    users: { 'dave@localhost': 'dave-pw' },
    toml: `
[modules.mod_jingle_sip]
proxy_host = "127.0.0.1"
listen_port = ${gatewayPort}
local_host = "127.0.0.1"
transport = "tcp"
`,
  });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const s of sipps) s.stop();
  await dave?.stop().catch(() => {});
  await ts.stop();
});

async function call(scenario: string, service: string): Promise<SippRun> {
  const [port, mediaPort] = await freePorts(2);
  const run = runSipp({ scenario, port: port!, mediaPort: mediaPort!, transport: 'tcp', remote: { port: gatewayPort, service } });
  sipps.push(run);
  return run;
}

test('offline user over TCP: 480', async () => {
  const { code, output } = await (await call('uac-offline.xml', 'dave')).done;
  if (code !== 0) throw new Error(output.slice(-2000));
  expect(code).toBe(0);
});

test('answered and hung up over TCP', async () => {
  dave = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource: 'tcp', username: 'dave', password: 'dave-pw' });
  dave.reconnect.stop();
  dave.on('error', () => {});
  const initiates: XmlElement[] = [];
  (dave as unknown as { iqCallee: { set(ns: string, n: string, h: (c: { stanza: XmlElement }) => boolean): void } }).iqCallee.set(NS_JINGLE, 'jingle', (ctx) => {
    initiates.push(ctx.stanza);
    return true;
  });
  await dave.start();
  await dave.send(xml('presence'));
  const run = await call('uac-callee-hangs-up.xml', 'dave');
  const deadline = Date.now() + 10_000;
  while (initiates.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const initiate = initiates[0]!;
  const sid = initiate.getChild('jingle', NS_JINGLE)!.attrs.sid!;
  const content = initiate.getChild('jingle', NS_JINGLE)!.getChild('content')!;
  await dave.iqCaller.request(xml('iq', { type: 'set', to: initiate.attrs.from }, xml('jingle', { xmlns: NS_JINGLE, action: 'session-accept', sid }, content)));
  await new Promise((r) => setTimeout(r, 300));
  await dave.iqCaller.request(xml('iq', { type: 'set', to: initiate.attrs.from }, xml('jingle', { xmlns: NS_JINGLE, action: 'session-terminate', sid }, xml('reason', {}, xml('success')))));
  const { code, output } = await run.done;
  if (code !== 0) throw new Error(output.slice(-2000));
  expect(code).toBe(0);
});
