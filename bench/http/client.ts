// A benchmark client over any transport: SCRAM-SHA-1 login, resource binding, and the
// message round trip (ping → pong) whose rate is measured. Elements are matched with
// regular expressions: the server's output is known, and this is not a general client.

import { ScramClient } from '../../tests/integration/c2s/scram-client.ts';
import type { Transport } from './transport.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
const SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

export class BenchClient {
  jid = '';
  private waiters: { test: (xml: string) => boolean; resolve: (xml: string) => void }[] = [];
  /** Called for each message stanza once logged in. */
  onMessage: (xml: string) => void = () => {};

  constructor(readonly transport: Transport, readonly user: string, private readonly password: string) {
    transport.onElement = (xml) => this.element(xml);
  }

  async login(resource: string): Promise<void> {
    const t = this.transport;
    let features = this.next((x) => x.startsWith('<stream:features'));
    await t.open();
    if (!/<mechanism>SCRAM-SHA-1<\/mechanism>/.test(await features)) throw new Error('bench: SCRAM-SHA-1 not offered');
    const scram = new ScramClient({ hash: 'SHA-1', username: this.user, password: this.password });
    const challenge = this.next((x) => x.startsWith('<challenge') || x.startsWith('<failure'));
    t.send(`<auth xmlns='${SASL}' mechanism='SCRAM-SHA-1'>${b64(scram.first())}</auth>`);
    const serverFirst = textOf(await challenge, 'challenge');
    const success = this.next((x) => x.startsWith('<success') || x.startsWith('<failure'));
    t.send(`<response xmlns='${SASL}'>${b64(scram.final(unb64(serverFirst)))}</response>`);
    const outcome = await success;
    if (!outcome.startsWith('<success') || !scram.verify(unb64(textOf(outcome, 'success')))) throw new Error(`bench: login of ${this.user} failed: ${outcome}`);
    features = this.next((x) => x.startsWith('<stream:features'));
    t.restart();
    await features;
    const bound = this.next((x) => x.startsWith('<iq') && x.includes("id='bind'"));
    t.send(`<iq xmlns='jabber:client' type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const jid = /<jid>([^<]+)<\/jid>/.exec(await bound)?.[1];
    if (jid === undefined) throw new Error(`bench: bind failed for ${this.user}`);
    this.jid = jid;
  }

  send(xml: string): void {
    this.transport.send(xml);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** The next element passing `test`; a server that never sends it fails the run. */
  private next(test: (xml: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench: ${this.user} (${this.transport.name}) waited 30 s for the server`)), 30_000);
      this.waiters.push({ test, resolve: (xml) => (clearTimeout(timer), resolve(xml)) });
    });
  }

  private element(xml: string): void {
    const i = this.waiters.findIndex((w) => w.test(xml));
    if (i >= 0) {
      this.waiters.splice(i, 1)[0]!.resolve(xml);
      return;
    }
    if (xml.startsWith('<message')) this.onMessage(xml);
    else if (xml.startsWith('<stream:error')) throw new Error(`bench: ${this.user} (${this.transport.name}) got ${xml}`);
  }
}

function textOf(xml: string, name: string): string {
  return new RegExp(`<${name}[^>]*>([^<]*)</${name}>`).exec(xml)?.[1] ?? '';
}

/**
 * Round trips between `a` and `b`: a sends ping n, b answers pong n, a checks it and sends
 * the next. Stops after `rounds` or at `deadline` (ms since epoch), whichever comes first.
 * Resolves with the number of checked round trips.
 */
export function roundTrips(a: BenchClient, b: BenchClient, rounds: number, deadline: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    b.onMessage = (xml) => {
      const n = /<body>ping (\d+)<\/body>/.exec(xml)?.[1];
      if (n !== undefined) b.send(`<message xmlns='jabber:client' to='${a.jid}' type='chat' id='r${n}'><body>pong ${n}</body></message>`);
    };
    const ping = () => a.send(`<message xmlns='jabber:client' to='${b.jid}' type='chat' id='p${done}'><body>ping ${done}</body></message>`);
    a.onMessage = (xml) => {
      const n = /<body>pong (\d+)<\/body>/.exec(xml)?.[1];
      if (n === undefined) return;
      if (Number(n) !== done || !xml.includes(`from='${b.jid}'`)) return reject(new Error(`bench: expected pong ${done} from ${b.jid}, got ${xml}`));
      done++;
      if (done >= rounds || Date.now() >= deadline) resolve(done);
      else ping();
    };
    ping();
  });
}
