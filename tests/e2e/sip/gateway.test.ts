// The Jingle/SIP gateway against a real SIP peer: sipp plays the phone (UAS) or the caller
// (UAC), xmpp.js plays the Meerkat users. Everything on loopback, on free ports.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { freePorts } from '../../helpers/ports.ts';
import { runSipp, sippAvailable, type SippRun } from './sipp.ts';

const NS_JINGLE = 'urn:xmpp:jingle:1';
const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';
const NS_ICE = 'urn:xmpp:jingle:transports:ice-udp:1';

let ts: TestServer;
let gatewayPort: number;
let phonePort: number;
const clients: Client[] = [];
const sipps: SippRun[] = [];

if (!sippAvailable) throw new Error('sipp is not installed (apt-get install sip-tester)');

beforeAll(async () => {
  [gatewayPort, phonePort] = await freePorts(2);
  ts = await startTestServer({
    users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw', 'carol@localhost': 'carol-pw' },
    toml: `
[modules.mod_jingle_sip]
proxy_host = "127.0.0.1"
proxy_port = ${phonePort}
listen_ip = "127.0.0.1"
listen_port = ${gatewayPort}
local_host = "127.0.0.1"
sdp_origin = "127.0.0.1"
transport = "udp"
call_timeout = "20s"
[modules.mod_jingle_sip.username_to_phone]
bob = "+4822000"
`,
  });
  trustCa(ts.ca);
});

afterAll(async () => {
  for (const s of sipps) s.stop();
  for (const c of clients) await c.stop().catch(() => {});
  await ts.stop();
});

/** A user whose Jingle IQs are queued for the test to read (and answered with a result, as clients do). */
interface User {
  xmpp: Client;
  jid: string;
  next(action: string, timeoutMs?: number): Promise<XmlElement>;
}

async function online(user: string, resource: string): Promise<User> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${ts.c2sPort}`, domain: 'localhost', resource, username: user, password: `${user}-pw` });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  clients.push(xmpp);
  const queue: XmlElement[] = [];
  const waiters: Array<() => void> = [];
  (xmpp as unknown as { iqCallee: { set(ns: string, name: string, h: (ctx: { stanza: XmlElement }) => boolean): void } }).iqCallee.set(NS_JINGLE, 'jingle', (ctx) => {
    queue.push(ctx.stanza);
    for (const w of waiters.splice(0)) w();
    return true;
  });
  await xmpp.start();
  await xmpp.send(xml('presence'));
  const jid = xmpp.jid!.toString();
  return {
    xmpp,
    jid,
    async next(action, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = queue.findIndex((iq) => iq.getChild('jingle', NS_JINGLE)?.attrs.action === action);
        if (i >= 0) return queue.splice(i, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`${jid}: no ${action} (got ${queue.map((q) => q.getChild('jingle', NS_JINGLE)?.attrs.action).join(', ')})`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
  };
}

function jingle(to: string, action: string, sid: string, ...children: XmlElement[]): XmlElement {
  return xml('iq', { type: 'set', to }, xml('jingle', { xmlns: NS_JINGLE, action, sid }, ...children));
}

/** A WebRTC-style audio offer: opus + PCMU, ICE credentials, a host candidate, DTLS. */
function audioContent(): XmlElement {
  return xml('content', { creator: 'initiator', name: 'audio', senders: 'both' },
    xml('description', { xmlns: NS_RTP, media: 'audio' },
      xml('payload-type', { id: '111', name: 'opus', clockrate: '48000', channels: '2' }, xml('parameter', { name: 'minptime', value: '10' })),
      xml('payload-type', { id: '0', name: 'PCMU', clockrate: '8000' }),
      xml('rtcp-mux')),
    xml('transport', { xmlns: NS_ICE, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuvwx' },
      xml('candidate', { component: '1', foundation: '1', generation: '0', id: 'c1', ip: '127.0.0.1', network: '0', port: '41000', priority: '2130706431', protocol: 'udp', type: 'host' })));
}

async function startPhone(scenario: string): Promise<SippRun> {
  const [mediaPort] = await freePorts(1);
  const run = runSipp({ scenario, port: phonePort, mediaPort: mediaPort! });
  sipps.push(run);
  await new Promise((r) => setTimeout(r, 300)); // let sipp bind before the INVITE leaves
  return run;
}

async function startCaller(scenario: string, service: string): Promise<SippRun> {
  const [port, mediaPort] = await freePorts(2);
  const run = runSipp({ scenario, port: port!, mediaPort: mediaPort!, remote: { port: gatewayPort, service } });
  sipps.push(run);
  return run;
}

async function expectSippPassed(run: SippRun): Promise<void> {
  const { code, output } = await run.done;
  if (code !== 0) throw new Error(`sipp failed (${code}):\n${output.slice(-3000)}`);
}

const reasonOf = (iq: XmlElement): string | undefined => iq.getChild('jingle', NS_JINGLE)?.getChild('reason')?.children.find((c): c is XmlElement => typeof c !== 'string')?.name;

let sidCounter = 0;
const newSid = (): string => `sid${Date.now().toString(36)}x${++sidCounter}`;

describe('XMPP user calls a SIP phone (sipp UAS)', () => {
  test('INVITE → 180 → 200 → ACK; ringing and session-accept reach the caller; terminate → BYE', async () => {
    const phone = await startPhone('uas-answer.xml');
    const alice = await online('alice', 'desk');
    const sid = newSid();
    const result = await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-initiate', sid, audioContent()));
    expect(result.attrs.type).toBe('result');
    const ringing = await alice.next('session-info');
    expect(ringing.getChild('jingle', NS_JINGLE)!.getChild('ringing', 'urn:xmpp:jingle:apps:rtp:info:1')).toBeDefined();
    const accept = await alice.next('session-accept');
    const content = accept.getChild('jingle', NS_JINGLE)!.getChild('content')!;
    const pts = content.getChild('description', NS_RTP)!.getChildren('payload-type').map((p) => p.attrs.name);
    expect(pts).toEqual(['PCMU', 'telephone-event']);
    const candidate = content.getChild('transport', NS_ICE)!.getChild('candidate')!;
    expect([candidate.attrs.ip, candidate.attrs.port]).toEqual(['127.0.0.1', '40000']);
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-terminate', sid, xml('reason', {}, xml('success'))));
    await expectSippPassed(phone);
    await alice.xmpp.stop();
  });

  test('the phone is busy: 486 → session-terminate <busy/>', async () => {
    const phone = await startPhone('uas-busy.xml');
    const alice = await online('alice', 'busy');
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-initiate', newSid(), audioContent()));
    expect(reasonOf(await alice.next('session-terminate'))).toBe('busy');
    await expectSippPassed(phone);
    await alice.xmpp.stop();
  });

  test('the phone declines: 603 → <decline/>; 404 → <general-error/> with the SIP status', async () => {
    const alice = await online('alice', 'decline');
    let phone = await startPhone('uas-decline.xml');
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-initiate', newSid(), audioContent()));
    expect(reasonOf(await alice.next('session-terminate'))).toBe('decline');
    await expectSippPassed(phone);
    phone = await startPhone('uas-notfound.xml');
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-initiate', newSid(), audioContent()));
    const terminate = await alice.next('session-terminate');
    expect(reasonOf(terminate)).toBe('general-error');
    expect(terminate.getChild('jingle', NS_JINGLE)!.getChild('reason')!.getChild('sip-error')!.attrs.code).toBe('404');
    await expectSippPassed(phone);
    await alice.xmpp.stop();
  });

  test('the caller gives up while it rings: CANCEL, and the phone answers 487', async () => {
    const phone = await startPhone('uas-cancelled.xml');
    const alice = await online('alice', 'cancel');
    const sid = newSid();
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-initiate', sid, audioContent()));
    await alice.next('session-info');
    await alice.xmpp.iqCaller.request(jingle('+4899@sip.localhost', 'session-terminate', sid, xml('reason', {}, xml('cancel'))));
    await expectSippPassed(phone);
    await alice.xmpp.stop();
  });
});

describe('SIP phone calls an XMPP user (sipp UAC)', () => {
  test('the user answers, later hangs up: 180, 200, ACK, then BYE from the gateway', async () => {
    const carol = await online('carol', 'phone');
    const caller = await startCaller('uac-callee-hangs-up.xml', 'carol');
    const initiate = await carol.next('session-initiate');
    const j = initiate.getChild('jingle', NS_JINGLE)!;
    expect(initiate.attrs.from).toBe('+4812345@sip.localhost');
    const names = j.getChild('content')!.getChild('description', NS_RTP)!.getChildren('payload-type').map((p) => p.attrs.name);
    expect(names).toEqual(['PCMA', 'PCMU']);
    await carol.xmpp.iqCaller.request(jingle(initiate.attrs.from!, 'session-accept', j.attrs.sid!, audioContent()));
    await new Promise((r) => setTimeout(r, 300));
    await carol.xmpp.iqCaller.request(jingle(initiate.attrs.from!, 'session-terminate', j.attrs.sid!, xml('reason', {}, xml('success'))));
    await expectSippPassed(caller);
    await carol.xmpp.stop();
  });

  test('the user declines before answering: 486', async () => {
    const carol = await online('carol', 'decliner');
    const caller = await startCaller('uac-declined.xml', 'carol');
    const initiate = await carol.next('session-initiate');
    const sid = initiate.getChild('jingle', NS_JINGLE)!.attrs.sid!;
    await carol.xmpp.iqCaller.request(jingle(initiate.attrs.from!, 'session-terminate', sid, xml('reason', {}, xml('decline'))));
    await expectSippPassed(caller);
    await carol.xmpp.stop();
  });

  test('the phone cancels while it rings: the user gets session-terminate <decline/>, the INVITE 487', async () => {
    const carol = await online('carol', 'cancelled');
    const caller = await startCaller('uac-cancel.xml', 'carol');
    await carol.next('session-initiate');
    expect(reasonOf(await carol.next('session-terminate'))).toBe('decline');
    await expectSippPassed(caller);
    await carol.xmpp.stop();
  });

  test('an offline user: 480', async () => {
    const caller = await startCaller('uac-offline.xml', 'alice');
    await expectSippPassed(caller);
  });

  test('two resources ring; one answers by its phone number, the other is cancelled; the phone hangs up with BYE', async () => {
    const desk = await online('bob', 'desk');
    const mobile = await online('bob', 'mobile');
    const caller = await startCaller('uac-caller-hangs-up.xml', '+4822000');
    const atDesk = await desk.next('session-initiate');
    await mobile.next('session-initiate');
    const sid = atDesk.getChild('jingle', NS_JINGLE)!.attrs.sid!;
    await desk.xmpp.iqCaller.request(jingle(atDesk.attrs.from!, 'session-accept', sid, audioContent()));
    expect(reasonOf(await mobile.next('session-terminate'))).toBe('cancel');
    expect(reasonOf(await desk.next('session-terminate'))).toBe('success');
    await expectSippPassed(caller);
    await desk.xmpp.stop();
    await mobile.xmpp.stop();
  });
});
