// The SIP transaction layer (RFC 3261 §17, with the "Accepted" states of RFC 6026):
//
//   client INVITE       Calling ─1xx─► Proceeding ─2xx─► Accepted (Timer M) ─► gone
//                        │ Timer A retransmits (UDP), Timer B gives up      └ 3xx–6xx ─► Completed: ACK, Timer D
//   client non-INVITE   Trying ─1xx─► Proceeding ─final─► Completed (Timer K)
//                        │ Timer E retransmits (UDP, capped at T2), Timer F gives up
//   server INVITE       Proceeding ─2xx─► Accepted: 2xx retransmitted until the ACK, Timer L gives up
//                                  └ 3xx–6xx ─► Completed: Timer G retransmits, Timer H gives up; ACK ─► Confirmed (Timer I)
//   server non-INVITE   Trying/Proceeding ─final─► Completed (Timer J)
//
// A retransmitted request is answered with the last response sent; a retransmitted final
// response is answered with the same ACK. The layer is bounded: past maxTransactions a new
// request gets 503 without state, and a new client request is refused.

import type { Peer } from './transport.ts';
import {
  getHeader, getVias, parseCSeq, parseMessage, parseNameAddr, responseTo, serializeMessage,
  type SipRequest, type SipResponse,
} from './message.ts';
import { DEFAULT_TIMER_VALUES, realTimers, type SipTimerValues, type TimerApi } from './timers.ts';

export interface ClientHandlers {
  provisional?(response: SipResponse): void;
  /** Every final response; a 2xx retransmission arrives here again (re-send the ACK). */
  final(response: SipResponse): void;
  /** Timer B or F fired without a final response. */
  timeout(): void;
}

export interface StackOptions {
  send(data: string, peer: Peer): void;
  reliable: boolean;
  timers?: TimerApi;
  timerValues?: SipTimerValues;
  maxTransactions?: number;
  /**
   * A request for the transaction user. `tx` is undefined for an ACK to a 2xx (it belongs
   * to the dialog, not to a transaction) and for a CANCEL's target lookup see `cancelled`.
   */
  onRequest(request: SipRequest, tx: ServerTransaction | undefined, peer: Peer): void;
  /** A malformed message or one no transaction wants, for logging. */
  onDiscard?(reason: string, peer: Peer): void;
}

type ServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

export class ServerTransaction {
  state: ServerState = 'proceeding';
  lastResponse: string | undefined;
  /** Called when an INVITE answered with 2xx never saw its ACK (Timer L). */
  onAckTimeout: (() => void) | undefined;
  private timers: unknown[] = [];

  constructor(
    private readonly stack: SipStack,
    readonly request: SipRequest,
    readonly key: string,
    private readonly reply: (data: string) => void,
  ) {}

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  respond(response: SipResponse): void {
    if (this.state !== 'proceeding') return;
    const data = serializeMessage(response);
    this.lastResponse = data;
    this.reply(data);
    if (response.status < 200) return;
    const { T1, T2 } = this.stack.values;
    const reliable = this.stack.reliable;
    if (!this.isInvite) {
      this.state = 'completed';
      this.after(reliable ? 0 : 64 * T1, () => this.terminate());
      return;
    }
    this.state = response.status < 300 ? 'accepted' : 'completed';
    if (!reliable) this.retransmit(T1, T2);
    this.after(64 * T1, () => {
      if (this.state === 'accepted') this.onAckTimeout?.();
      this.terminate();
    });
    if (this.state === 'accepted') this.stack.indexAccepted(this);
  }

  private retransmit(interval: number, cap: number): void {
    this.after(interval, () => {
      if (this.state !== 'accepted' && this.state !== 'completed') return;
      if (this.lastResponse !== undefined) this.reply(this.lastResponse);
      this.retransmit(Math.min(interval * 2, cap), cap);
    });
  }

  /** A retransmission of the request arrived. */
  retransmitted(): void {
    if (this.lastResponse !== undefined && this.state !== 'confirmed') this.reply(this.lastResponse);
  }

  /** The ACK for this INVITE transaction arrived. */
  acked(): void {
    if (this.state !== 'completed' && this.state !== 'accepted') return;
    this.clearTimers();
    if (this.state === 'accepted') {
      this.terminate();
      return;
    }
    this.state = 'confirmed';
    this.after(this.stack.reliable ? 0 : this.stack.values.T4, () => this.terminate());
  }

  private after(ms: number, fn: () => void): void {
    this.timers.push(this.stack.timers.set(fn, ms));
  }

  private clearTimers(): void {
    for (const t of this.timers) this.stack.timers.clear(t);
    this.timers = [];
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearTimers();
    this.stack.forgetServer(this);
  }
}

type ClientState = 'calling' | 'trying' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

export class ClientTransaction {
  state: ClientState;
  private timers: unknown[] = [];
  private readonly data: string;
  private ack: string | undefined;
  /** Called once when the transaction ends, whatever the reason. */
  onTerminated: (() => void) | undefined;

  constructor(
    private readonly stack: SipStack,
    readonly request: SipRequest,
    readonly key: string,
    readonly peer: Peer,
    private readonly handlers: ClientHandlers,
  ) {
    this.state = request.method === 'INVITE' ? 'calling' : 'trying';
    this.data = serializeMessage(request);
  }

  start(): void {
    const { T1, T2 } = this.stack.values;
    this.stack.sendRaw(this.data, this.peer);
    if (!this.stack.reliable) this.retransmit(T1, this.request.method === 'INVITE' ? Infinity : T2);
    this.after(64 * T1, () => {
      if (this.state !== 'calling' && this.state !== 'trying' && this.state !== 'proceeding') return;
      // Timer B stops with the first provisional response; Timer F runs until a final one.
      if (this.state === 'proceeding' && this.request.method === 'INVITE') return;
      this.terminate();
      this.handlers.timeout();
    });
  }

  private retransmit(interval: number, cap: number): void {
    this.after(interval, () => {
      if (this.state === 'calling' || this.state === 'trying' || (this.state === 'proceeding' && this.request.method !== 'INVITE')) {
        this.stack.sendRaw(this.data, this.peer);
        // Timer E in Proceeding fires every T2 (§17.1.2.2).
        const next = this.state === 'proceeding' ? cap : Math.min(interval * 2, cap);
        this.retransmit(next, cap);
      }
    });
  }

  receive(response: SipResponse): void {
    const { T1, T4 } = this.stack.values;
    const reliable = this.stack.reliable;
    const invite = this.request.method === 'INVITE';
    if (response.status < 200) {
      if (this.state === 'calling' || this.state === 'trying' || this.state === 'proceeding') {
        this.state = 'proceeding';
        this.handlers.provisional?.(response);
      }
      return;
    }
    if (this.state === 'completed') {
      if (this.ack !== undefined) this.stack.sendRaw(this.ack, this.peer);
      return;
    }
    if (this.state === 'accepted') {
      if (response.status < 300) this.handlers.final(response);
      return;
    }
    if (this.state === 'terminated') return;
    this.clearTimers();
    if (invite && response.status < 300) {
      this.state = 'accepted';
      this.after(64 * T1, () => this.terminate());
    } else if (invite) {
      this.state = 'completed';
      this.ack = serializeMessage(ackForFailure(this.request, response));
      this.stack.sendRaw(this.ack, this.peer);
      this.after(reliable ? 0 : 32_000, () => this.terminate());
    } else {
      this.state = 'completed';
      this.after(reliable ? 0 : T4, () => this.terminate());
    }
    this.handlers.final(response);
  }

  private after(ms: number, fn: () => void): void {
    this.timers.push(this.stack.timers.set(fn, ms));
  }

  private clearTimers(): void {
    for (const t of this.timers) this.stack.timers.clear(t);
    this.timers = [];
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearTimers();
    this.stack.forgetClient(this);
    this.onTerminated?.();
  }
}

/** The ACK a client INVITE transaction sends for a 3xx–6xx (RFC 3261 §17.1.1.3). */
function ackForFailure(invite: SipRequest, response: SipResponse): SipRequest {
  const headers = [];
  const via = invite.headers.find((h) => h.name === 'via');
  if (via) headers.push(via);
  for (const h of invite.headers) if (h.name === 'from' || h.name === 'call-id' || h.name === 'route' || h.name === 'max-forwards') headers.push(h);
  headers.push({ name: 'to', value: getHeader(response, 'to') ?? getHeader(invite, 'to')! });
  headers.push({ name: 'cseq', value: `${parseCSeq(getHeader(invite, 'cseq')!)!.seq} ACK` });
  return { kind: 'request', method: 'ACK', uri: invite.uri, headers, body: '' };
}

function topBranch(msg: SipRequest | SipResponse): { branch: string; sentBy: string } | undefined {
  const via = getVias(msg)[0];
  if (!via) return undefined;
  return { branch: via.params.get('branch') ?? '', sentBy: `${via.host}:${via.port ?? 5060}` };
}

export class SipStack {
  readonly timers: TimerApi;
  readonly values: SipTimerValues;
  readonly reliable: boolean;
  private readonly options: StackOptions;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  /** INVITE transactions answered with 2xx and waiting for their ACK, by Call-ID and CSeq number. */
  private readonly accepted = new Map<string, ServerTransaction>();
  private readonly maxTransactions: number;

  constructor(options: StackOptions) {
    this.options = options;
    this.timers = options.timers ?? realTimers;
    this.values = options.timerValues ?? DEFAULT_TIMER_VALUES;
    this.reliable = options.reliable;
    this.maxTransactions = options.maxTransactions ?? 1024;
  }

  get transactionCount(): number {
    return this.servers.size + this.clients.size;
  }

  sendRaw(data: string, peer: Peer): void {
    this.options.send(data, peer);
  }

  /** Starts a client transaction; undefined when the layer is full. */
  request(request: SipRequest, peer: Peer, handlers: ClientHandlers): ClientTransaction | undefined {
    if (this.transactionCount >= this.maxTransactions) return undefined;
    const top = topBranch(request);
    if (!top) throw new Error('a request needs a Via with a branch');
    const key = `${top.branch}|${request.method}`;
    const tx = new ClientTransaction(this, request, key, peer, handlers);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /** Sends a request outside any transaction (the ACK for a 2xx, RFC 3261 §13.2.2.4). */
  sendStateless(request: SipRequest, peer: Peer): void {
    this.sendRaw(serializeMessage(request), peer);
  }

  /** Feeds one received message (a datagram or a framed stream message). */
  receive(bytes: Uint8Array, peer: Peer, reply: (data: string) => void): void {
    const parsed = parseMessage(bytes);
    if (!parsed.ok) {
      this.options.onDiscard?.(parsed.error, peer);
      const req = parsed.partial;
      // Never answer an ACK; answer what can be answered so the peer stops retransmitting.
      if (req && req.method !== 'ACK' && getVias(req)[0] !== undefined) {
        reply(serializeMessage(responseTo(req, parsed.status, reasonFor(parsed.status))));
      }
      return;
    }
    const msg = parsed.message;
    if (msg.kind === 'response') {
      const top = topBranch(msg);
      const method = parseCSeq(getHeader(msg, 'cseq')!)!.method;
      const tx = top && this.clients.get(`${top.branch}|${method}`);
      if (tx) tx.receive(msg);
      else this.options.onDiscard?.('response matches no transaction', peer);
      return;
    }
    const top = topBranch(msg)!;
    const cseq = parseCSeq(getHeader(msg, 'cseq')!)!;
    const callId = getHeader(msg, 'call-id')!;
    // RFC 2543 peers have no magic-cookie branch: key on what identifies their transaction instead.
    const branch = top.branch.startsWith('z9hG4bK')
      ? top.branch
      : `${callId}|${cseq.seq}|${parseNameAddr(getHeader(msg, 'from')!)?.params.get('tag') ?? ''}`;
    const keyMethod = msg.method === 'ACK' ? 'INVITE' : msg.method;
    const key = `${branch}|${top.sentBy}|${keyMethod}`;
    const existing = this.servers.get(key);
    if (msg.method === 'ACK') {
      if (existing && existing.state === 'completed') {
        existing.acked();
        return;
      }
      const acceptedTx = this.accepted.get(`${callId}|${cseq.seq}`);
      acceptedTx?.acked();
      this.options.onRequest(msg, undefined, peer);
      return;
    }
    if (existing) {
      existing.retransmitted();
      return;
    }
    if (this.transactionCount >= this.maxTransactions) {
      reply(serializeMessage(responseTo(msg, 503, 'Service Unavailable')));
      return;
    }
    const tx = new ServerTransaction(this, msg, key, reply);
    this.servers.set(key, tx);
    // Non-INVITE transactions that the TU never answers still end (Timer F on the peer's side).
    if (!tx.isInvite) this.timers.set(() => { if (tx.state === 'proceeding') tx.terminate(); }, 64 * this.values.T1);
    this.options.onRequest(msg, tx, peer);
  }

  /** The INVITE server transaction a CANCEL targets (same branch and sent-by, RFC 3261 §9.2). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    const t = this.findKeyFor(cancel);
    return t === undefined ? undefined : this.servers.get(t.replace(/\|CANCEL$/, '|INVITE'));
  }

  private findKeyFor(req: SipRequest): string | undefined {
    for (const [key, tx] of this.servers) if (tx.request === req) return key;
    return undefined;
  }

  indexAccepted(tx: ServerTransaction): void {
    this.accepted.set(`${getHeader(tx.request, 'call-id')}|${parseCSeq(getHeader(tx.request, 'cseq')!)!.seq}`, tx);
  }

  forgetServer(tx: ServerTransaction): void {
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
    const acceptedKey = `${getHeader(tx.request, 'call-id')}|${parseCSeq(getHeader(tx.request, 'cseq')!)!.seq}`;
    if (this.accepted.get(acceptedKey) === tx) this.accepted.delete(acceptedKey);
  }

  forgetClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  close(): void {
    for (const tx of [...this.servers.values()]) tx.terminate();
    for (const tx of [...this.clients.values()]) tx.terminate();
  }
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 413: 'Request Entity Too Large', 416: 'Unsupported URI Scheme', 505: 'Version Not Supported' };

export function reasonFor(status: number): string {
  return REASONS[status] ?? 'Error';
}
