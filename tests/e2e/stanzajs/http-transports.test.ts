// Three transports, one server: StanzaJS (a real client library) logs alice in over BOSH
// and bob over WebSocket, xmpp.js logs carol in over TCP with STARTTLS, all against a
// Meerkat node started with startServer. Each pair exchanges messages both ways, the web
// users ping the server, and logging out ends with the server's own terminate / <close/>.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { client as xmppjsClient, xml, type Client, type XmlElement } from '@xmpp/client';
import * as XMPP from 'stanza';
import { parseJid } from '../../../server/jid.ts';
import { startHttpTestServer, type HttpTestServer } from '../../fixtures/http/http-test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';

const USERS = { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw', 'carol@localhost': 'carol-pw' };

let ts: HttpTestServer;
const stanzaClients: XMPP.Agent[] = [];
let carol: Client | undefined;

beforeAll(async () => {
  ts = await startHttpTestServer({ users: USERS });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const c of stanzaClients) c.disconnect();
  await carol?.stop().catch(() => {});
  await ts.stop();
});

function webClient(user: 'alice' | 'bob', transport: 'bosh' | 'websocket'): XMPP.Agent {
  const ws = ts.httpBase.replace('http:', 'ws:');
  const c = XMPP.createClient({
    jid: `${user}@localhost`,
    password: USERS[`${user}@localhost`],
    resource: transport,
    server: 'localhost',
    transports: transport === 'bosh' ? { bosh: `${ts.httpBase}/http-bind`, websocket: false } : { websocket: `${ws}/xmpp-websocket`, bosh: false },
    autoReconnect: false,
    allowResumption: false,
    useStreamManagement: false,
  });
  stanzaClients.push(c);
  return c;
}

function started(c: XMPP.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    c.once('session:started', () => resolve());
    c.once('auth:failed', () => reject(new Error('auth failed')));
    c.connect();
  });
}

function nextWebMessage(c: XMPP.Agent): Promise<XMPP.Stanzas.ReceivedMessage> {
  return new Promise((resolve) => {
    const onMessage = (m: XMPP.Stanzas.ReceivedMessage) => {
      if (m.body === undefined) return;
      c.off('message', onMessage);
      resolve(m);
    };
    c.on('message', onMessage);
  });
}

function nextTcpMessage(xmpp: Client): Promise<XmlElement> {
  return new Promise((resolve) => {
    const onStanza = (stanza: XmlElement) => {
      if (!stanza.is('message') || stanza.getChild('body') === undefined) return;
      xmpp.removeListener('stanza', onStanza);
      resolve(stanza);
    };
    xmpp.on('stanza', onStanza);
  });
}

/** Raw bytes the server sent, as StanzaJS reports them (BOSH bodies, WebSocket frames). */
function incomingRaw(c: XMPP.Agent): string[] {
  const seen: string[] = [];
  c.on('raw', (direction: string, data: string) => {
    if (direction === 'incoming') seen.push(data);
  });
  return seen;
}

test('alice on BOSH, bob on WebSocket and carol on TCP talk to each other', async () => {
  const alice = webClient('alice', 'bosh');
  const bob = webClient('bob', 'websocket');
  const aliceRaw = incomingRaw(alice);
  const bobRaw = incomingRaw(bob);
  carol = xmppjsClient({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', username: 'carol', password: USERS['carol@localhost'], resource: 'tcp' });
  carol.reconnect.stop();
  carol.on('error', () => {});
  await Promise.all([started(alice), started(bob), carol.start()]);
  expect(alice.jid).toBe('alice@localhost/bosh');
  expect(bob.jid).toBe('bob@localhost/websocket');
  expect(carol.jid?.toString()).toBe('carol@localhost/tcp');
  // Over HTTP the BOSH session was created by the server: its creation response named the SID.
  expect(aliceRaw.some((b) => /<body [^>]*sid=['"][A-Za-z0-9_-]{22}['"]/.test(b))).toBe(true);

  // Everyone becomes available (a bare-JID message goes to available resources only).
  alice.sendPresence();
  bob.sendPresence();
  // The server sends carol's own presence back to her (RFC 6121 §4.2.2): she is available then.
  const carolAvailable = new Promise<void>((resolve) => {
    carol!.on('stanza', (s: XmlElement) => {
      if (s.is('presence') && s.attrs.from === 'carol@localhost/tcp') resolve();
    });
  });
  await carol.send(xml('presence'));
  await carolAvailable;

  // alice (BOSH) → bob (WebSocket) and back.
  let toBob = nextWebMessage(bob);
  alice.sendMessage({ to: 'bob@localhost/websocket', type: 'chat', body: 'alice via BOSH to bob' });
  expect(await toBob).toMatchObject({ from: 'alice@localhost/bosh', body: 'alice via BOSH to bob' });
  let toAlice = nextWebMessage(alice);
  bob.sendMessage({ to: 'alice@localhost/bosh', type: 'chat', body: 'bob via WebSocket to alice' });
  expect(await toAlice).toMatchObject({ from: 'bob@localhost/websocket', body: 'bob via WebSocket to alice' });

  // Both web users ↔ carol (TCP); a bare-JID message reaches her only resource.
  let toCarol = nextTcpMessage(carol);
  alice.sendMessage({ to: 'carol@localhost', type: 'chat', body: 'alice via BOSH to carol' });
  let m = await toCarol;
  expect(m.attrs.from).toBe('alice@localhost/bosh');
  expect(m.getChildText('body')).toBe('alice via BOSH to carol');
  toCarol = nextTcpMessage(carol);
  bob.sendMessage({ to: 'carol@localhost/tcp', type: 'chat', body: 'bob via WebSocket to carol' });
  m = await toCarol;
  expect(m.attrs.from).toBe('bob@localhost/websocket');
  expect(m.getChildText('body')).toBe('bob via WebSocket to carol');

  toAlice = nextWebMessage(alice);
  toBob = nextWebMessage(bob);
  await carol.send(xml('message', { to: 'alice@localhost/bosh', type: 'chat' }, xml('body', {}, 'carol via TCP to alice')));
  await carol.send(xml('message', { to: 'bob@localhost/websocket', type: 'chat' }, xml('body', {}, 'carol via TCP to bob')));
  expect(await toAlice).toMatchObject({ from: 'carol@localhost/tcp', body: 'carol via TCP to alice' });
  expect(await toBob).toMatchObject({ from: 'carol@localhost/tcp', body: 'carol via TCP to bob' });

  // XEP-0199 pings to the server answer with a result (a rejected ping would throw).
  await alice.ping('localhost');
  await bob.ping('localhost');

  // Logging out: the server answers BOSH's terminate with its own, and WebSocket's <close/> with one.
  const aliceTerminated = new Promise<void>((resolve) => alice.once('bosh:terminate', () => resolve()));
  await alice.disconnect();
  await aliceTerminated;
  expect(aliceRaw.at(-1)).toMatch(/^<body [^>]*type=['"]terminate['"]/);
  await bob.disconnect();
  const closeFrame = (): boolean => bobRaw.some((f) => /^<close [^>]*xmlns=['"]urn:ietf:params:xml:ns:xmpp-framing['"]/.test(f));
  for (let i = 0; i < 100 && !closeFrame(); i++) await Bun.sleep(20);
  expect(closeFrame()).toBe(true);

  // Both web sessions are gone from the server; carol's is the only one left.
  const sessions = ts.server.core.sessions;
  for (let i = 0; i < 100 && sessions.size > 1; i++) await Bun.sleep(20);
  expect(sessions.resources(parseJid('alice@localhost'))).toHaveLength(0);
  expect(sessions.resources(parseJid('bob@localhost'))).toHaveLength(0);
  expect(sessions.resources(parseJid('carol@localhost'))).toHaveLength(1);
});
