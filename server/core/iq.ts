// IQ dispatch: a map lookup on (host, namespace, element name) with RFC 6120 §8.2.3 built in.
//
//   - 'local' handlers answer IQs addressed to the server (to = domain); 'sm' handlers answer
//     IQs addressed to a local user's bare JID, on the user's behalf (RFC 6121 §8.5.2.1.3).
//   - get/set must carry an id and exactly one child element, else bad-request.
//   - A get/set nobody handles is answered with service-unavailable.
//   - A result or an error is never answered: it either resolves a request the server sent
//     (matched by id AND sender) or is dropped.
//
// A handler returns the reply payload (Element), null for an empty result, or a StanzaError;
// it may return a promise of those. Throwing a StanzaError also answers with it; any other
// throw is logged and answered with internal-server-error.

import { Element } from '../xml/element.ts';
import { StanzaError } from '../errors.ts';
import type { Jid } from '../jid.ts';
import { Packet } from './packet.ts';
import { logger as rootLogger, type Logger } from '../log.ts';

export type IqScope = 'local' | 'sm';

export interface IqRequest {
  readonly type: 'get' | 'set';
  readonly id: string;
  readonly from: Jid;
  readonly to: Jid;
  /** The host whose handler runs (to.domain). */
  readonly host: string;
  /** The single child element: the request payload. A detached copy, safe to keep. */
  readonly payload: Element;
  /** The request stanza (detached). */
  readonly stanza: Element;
}

export type IqAnswer = Element | null | StanzaError;
export type IqHandler = (request: IqRequest) => IqAnswer | Promise<IqAnswer>;

/** Rejection of sendIq when no answer arrived in time. */
export class IqTimeoutError extends Error {
  constructor(readonly to: Jid, readonly timeoutMs: number) {
    super(`no answer from ${to.toString()} within ${timeoutMs} ms`);
    this.name = 'IqTimeoutError';
  }
}

interface Pending {
  readonly to: Jid;
  readonly resolve: (el: Element) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface IqDispatcherOptions {
  /** Bound on outstanding server-originated requests (each holds a timer and closures). */
  maxPending?: number;
  logger?: Logger;
}

type Table = Map<string, Map<string, Map<string, IqHandler>>>; // host → ns → local name → handler

export class IqDispatcher {
  private readonly tables: Record<IqScope, Table> = { local: new Map(), sm: new Map() };
  private readonly pending = new Map<string, Pending>();
  private readonly route: (packet: Packet) => void;
  private readonly maxPending: number;
  private readonly log: Logger;
  private nextId = 0;
  private readonly idPrefix = 'mk' + Math.random().toString(36).slice(2, 10) + '-';

  constructor(route: (packet: Packet) => void, options: IqDispatcherOptions = {}) {
    this.route = route;
    this.maxPending = options.maxPending ?? 10000;
    this.log = options.logger ?? rootLogger;
  }

  /** Registers the handler of (ns, local name) for a host; returns its removal. Two handlers for one key is a bug: throws. */
  register(scope: IqScope, host: string, ns: string, localName: string, handler: IqHandler): () => void {
    let byNs = this.tables[scope].get(host);
    if (!byNs) this.tables[scope].set(host, (byNs = new Map()));
    let byName = byNs.get(ns);
    if (!byName) byNs.set(ns, (byName = new Map()));
    if (byName.has(localName)) throw new Error(`IQ handler for {${ns}}${localName} already registered (${scope}, ${host})`);
    byName.set(localName, handler);
    return () => {
      if (byName.get(localName) === handler) byName.delete(localName);
    };
  }

  handlerFor(scope: IqScope, host: string, ns: string, localName: string): IqHandler | undefined {
    return this.tables[scope].get(host)?.get(ns)?.get(localName);
  }

  /** Handles an IQ addressed to a local domain ('local') or a local user's bare JID ('sm'). */
  dispatch(scope: IqScope, packet: Packet): void {
    const type = packet.type;
    if (type === 'result' || type === 'error') {
      this.settle(packet);
      return;
    }
    const stanza = packet.element();
    if ((type !== 'get' && type !== 'set') || packet.id === undefined) {
      this.replyError(packet, new StanzaError('bad-request', { text: 'IQ needs an id and type get, set, result or error' }));
      return;
    }
    let payload: Element | undefined;
    let count = 0;
    for (const child of stanza.children) {
      if (typeof child === 'string') continue;
      payload = child;
      count++;
    }
    if (count !== 1 || payload === undefined) {
      this.replyError(packet, new StanzaError('bad-request', { text: 'IQ get/set needs exactly one child element' }));
      return;
    }
    const host = packet.to.domain;
    const handler = this.handlerFor(scope, host, payload.ns, payload.localName);
    if (handler === undefined) {
      this.replyError(packet, new StanzaError('service-unavailable'));
      return;
    }
    packet.detach();
    const request: IqRequest = { type, id: packet.id, from: packet.from, to: packet.to, host, payload, stanza };
    let answer: IqAnswer | Promise<IqAnswer>;
    try {
      answer = handler(request);
    } catch (err) {
      this.answer(packet, this.fromThrown(err, payload));
      return;
    }
    if (answer instanceof Promise) {
      answer.then(
        (a) => this.answer(packet, a),
        (err: unknown) => this.answer(packet, this.fromThrown(err, payload)),
      );
    } else {
      this.answer(packet, answer);
    }
  }

  /**
   * Sends an IQ get/set from `from` and resolves with the result stanza. Rejects with the
   * StanzaError of an error answer, with IqTimeoutError after timeoutMs, or at once when too
   * many requests are outstanding. Only an answer from the address the request went to counts.
   */
  sendIq(from: Jid, to: Jid, iq: Element, timeoutMs: number): Promise<Element> {
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(new StanzaError('resource-constraint', { text: 'too many outstanding IQ requests' }));
    }
    const id = this.idPrefix + (this.nextId++).toString(36);
    iq.attrs.id = id;
    iq.attrs.from = from.toString();
    iq.attrs.to = to.toString();
    const packet = Packet.fromElement(iq, from, to);
    return new Promise<Element>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IqTimeoutError(to, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { to, resolve, reject, timer });
      this.route(packet);
    });
  }

  /** Outstanding server-originated requests. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private settle(packet: Packet): void {
    const id = packet.id;
    if (id === undefined) return;
    const p = this.pending.get(id);
    // An answer from anyone but the addressee is ignored: ids alone are guessable.
    if (p === undefined || !p.to.equals(packet.from)) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    const el = packet.detach().element();
    if (packet.type === 'result') p.resolve(el);
    else p.reject(StanzaError.fromStanza(el));
  }

  private fromThrown(err: unknown, payload: Element): StanzaError {
    if (err instanceof StanzaError) return err;
    this.log.warn('iq_handler_failed', { ns: payload.ns, element: payload.localName, error: err });
    return new StanzaError('internal-server-error');
  }

  private answer(request: Packet, answer: IqAnswer): void {
    if (answer instanceof StanzaError) {
      this.replyError(request, answer);
      return;
    }
    const reply = new Element('iq', { type: 'result', id: request.id, from: request.to.toString(), to: request.from.toString() });
    if (answer !== null) reply.append(answer);
    this.route(Packet.derive(request, reply, request.to, request.from));
  }

  private replyError(request: Packet, err: StanzaError): void {
    const reply = request.errorReply(err);
    if (reply !== undefined) this.route(reply);
  }
}
