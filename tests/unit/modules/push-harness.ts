// A core with mod_event_pusher (and friends) on in-memory SQLite, plus a fake app server:
// a domain route that records what it is sent and answers as a test tells it to.

import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { Packet } from '../../../server/core/packet.ts';
import { Element } from '../../../server/xml/element.ts';
import { StanzaError, type StanzaErrorCondition } from '../../../server/errors.ts';
import { modEventPusher, eventPusherState, type EventPusherState } from '../../../modules/mod_event_pusher/index.ts';
import { modPubsubPush } from '../../../modules/mod_pubsub_push/index.ts';
import { modOffline, offlineIdle } from '../../../modules/mod_offline.ts';
import { modDisco } from '../../../modules/mod_disco.ts';
import { modCsi } from '../../../modules/mod_csi.ts';
import { HOST, imHarness, type ImHarness } from './im-harness.ts';

export { HOST };
export const APP = 'push.app.example';
export const NS_PUSH = 'urn:xmpp:push:0';

export type AppBehaviour = 'result' | 'silent' | StanzaErrorCondition | 'echo';

/** An app server reachable as a domain route; `answer` says what it does with each IQ. */
export class FakeAppServer {
  readonly publishes: Element[] = [];
  /** Packets seen, of every kind (cleared by tests that flood). */
  seen = 0;
  answer: AppBehaviour = 'result';
  /** Answers queued instead of sent at once (flush() sends them). */
  deferred = false;
  private readonly queue: Array<() => void> = [];
  keep = true;

  constructor(private readonly h: ImHarness, readonly domain = APP) {
    h.core.router.addDomainRoute(domain, { route: (p) => this.take(p) });
  }

  flush(): number {
    let n = 0;
    while (this.queue.length > 0) {
      this.queue.shift()!();
      n++;
    }
    return n;
  }

  get queued(): number {
    return this.queue.length;
  }

  private take(p: Packet): void {
    this.seen++;
    const el = p.element();
    if (p.kind === 'iq' && p.type === 'set' && this.keep) this.publishes.push(el.clone());
    const send = (): void => {
      const route = this.h.core.router;
      if (this.answer === 'silent') return;
      if (this.answer === 'echo') {
        // Everything straight back, error or not, swapped addresses: the careless component.
        const back = el.clone();
        back.attrs.from = p.to.toString();
        back.attrs.to = p.from.toString();
        route.route(Packet.fromElement(back));
        return;
      }
      if (p.kind !== 'iq' || (p.type !== 'get' && p.type !== 'set')) return;
      if (this.answer === 'result') {
        route.route(Packet.fromElement(new Element('iq', { type: 'result', id: p.id, from: p.to.toString(), to: p.from.toString() })));
        return;
      }
      // Built by hand, not through errorReply, as an outside server would.
      const reply = new Element('iq', { type: 'error', id: p.id, from: p.to.toString(), to: p.from.toString() });
      reply.append(new StanzaError(this.answer).toElement());
      route.route(Packet.fromElement(reply));
    };
    if (this.deferred) this.queue.push(send);
    else send();
  }
}

/** Counts what reaches a remote domain without keeping it. */
export class RemoteSink {
  count = 0;
  errors = 0;
  constructor(h: ImHarness, readonly domain = 'remote.example') {
    h.core.router.addDomainRoute(domain, {
      route: (p) => {
        this.count++;
        if (p.type === 'error') this.errors++;
      },
    });
  }
}

export interface PushHarness extends ImHarness {
  app: FakeAppServer;
  state: EventPusherState;
  /** Waits for queued pushes and storage. */
  idle(): Promise<void>;
}

export const PUSH_MODULES = [modEventPusher, modPubsubPush, modOffline, modDisco, modCsi] as ModuleDefinition<unknown>[];

export async function pushHarness(modules: Record<string, Record<string, unknown>> = {}, definitions = PUSH_MODULES): Promise<PushHarness> {
  const h = await imHarness(definitions, { modules });
  const app = new FakeAppServer(h);
  const state = eventPusherState(h.core.hooks, HOST)!;
  return {
    ...h,
    app,
    state,
    async idle() {
      for (let i = 0; i < 3; i++) {
        await state.idle();
        await offlineIdle(h.core.hooks, HOST);
        await h.settle();
      }
    },
  };
}

export const enableIq = (id: string, jid = APP, node = 'node1', form = '') =>
  `<iq type='set' id='${id}'><enable xmlns='${NS_PUSH}' jid='${jid}' node='${node}'>${form}</enable></iq>`;

export const publishOptionsForm = (fields: Record<string, string>, formType = 'http://jabber.org/protocol/pubsub#publish-options') =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>${formType}</value></field>${Object.entries(fields)
    .map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join('')}</x>`;

/** The summary form fields of a publish IQ: var → first value. */
export function summaryOf(iq: Element): Record<string, string> {
  const form = iq.getChild('pubsub')!.getChild('publish')!.getChild('item')!.getChild('notification', NS_PUSH)!.getChild('x', 'jabber:x:data')!;
  const out: Record<string, string> = {};
  for (const f of form.getChildren('field')) out[f.attrs.var!] = f.getChildText('value') ?? '';
  return out;
}

export function publishOptionsOf(iq: Element): Record<string, string> | undefined {
  const form = iq.getChild('pubsub')!.getChild('publish-options')?.getChild('x', 'jabber:x:data');
  if (form === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const f of form.getChildren('field')) out[f.attrs.var!] = f.getChildText('value') ?? '';
  return out;
}

export const chat = (body: string | undefined, from = 'carol@remote.example/x', to = 'alice@example.com', type = 'chat') =>
  `<message from='${from}' to='${to}' type='${type}' id='m${Math.random().toString(36).slice(2, 8)}'>${body === undefined ? '' : `<body>${body}</body>`}</message>`;
