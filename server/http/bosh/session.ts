// One BOSH session (XEP-0124, XEP-0206): the StreamTransport a C2sStream writes to, and
// the request bookkeeping around it — the rid window, held requests answered on data or
// at `wait`, the cache of recent responses for retransmissions, pauses, acknowledgements
// and the inactivity timer.
//
// Requests are processed strictly in rid order. A request whose rid is ahead of the next
// expected one waits (its bytes copied) until the gap is filled; the endpoint runs it then.
// With a listener shaper, the next request also waits that way while the session's token
// bucket is in debt (server/guard/token-bucket.ts): the bodies a client may have waiting
// are bounded by `requests`, as any outstanding requests are.

import type { ParserLimits, StanzaView, StreamHeader, XmlError } from '../../../parser-wasm/host/types.ts';
import type { TlsInfo } from '../../runtime/types.ts';
import type { ResponseHeader, StreamErrorCondition } from '../../streams/header.ts';
import type { StreamTransport } from '../../streams/transport.ts';
import { NS_BOSH } from '../../ns.ts';
import { outboundText, qualifyTopLevel } from '../outbound.ts';
import { bodyXml, streamErrorTerminateXml, terminateXml, type BodyAttributes, type BoshCondition } from './body.ts';
import type { SessionParams } from './params.ts';
import { shaperBucket, type TokenBucket } from '../../guard/token-bucket.ts';

export interface BoshReply {
  status: number;
  body: string;
}

/** What the session drives: the c2s state machine (its tokenizer-event half). */
export interface BoshStreamHandlers {
  onStreamOpen(header: StreamHeader): void;
  onStanza(view: StanzaView): void;
  onStreamClose(): void;
  onError(error: XmlError): void;
  onTransportClosed(): void;
  /** Ask the stream logic to end with a stream error (it unbinds, then calls close()). */
  closeWith(condition: 'policy-violation', text?: string): void;
  /** The session bound by this stream, if any. */
  readonly boundSession: { readonly jid: { toString(): string } } | undefined;
}

/** Hooks from the session back to the endpoint and the server. */
export interface BoshSessionHost {
  /** The session is over; forget the SID (never reuse it) and answer later requests with `finalBody`. */
  ended(session: BoshSession, finalBody: string): void;
  /** Stanzas accepted for the client that no response carried (XEP-0206 §7: store or bounce). */
  undelivered(session: BoshSession, stanzas: string[]): void;
  /** A request held back by the shaper may run now (the endpoint reads the deferred ones in order). */
  runnable(session: BoshSession): void;
  /** Options that may change between requests (parser limits are kept by the session). */
  readonly reportAfterMs: number;
  readonly maxQueuedBytes: number;
  /** Bytes per second each session may send (listener `shaper`); undefined: not shaped. */
  readonly shaperRate?: number;
  /** The shaper made a request wait (metrics). */
  shaped?(): void;
}

interface HeldRequest {
  rid: number;
  reply: (r: BoshReply) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The request carried no payload and no restart, pause or terminate. */
  empty: boolean;
  arrivedAt: number;
}

interface DeferredRequest {
  rid: number;
  bytes: Uint8Array;
  reply: (r: BoshReply) => void;
}

interface CachedResponse {
  body: string;
  sentAt: number;
}

export type RidVerdict =
  | { kind: 'next' }                        // process now
  | { kind: 'ahead' }                       // inside the window: wait for the gap to fill
  | { kind: 'repeat'; cached: string | undefined; held: boolean }
  | { kind: 'outside' };                    // beyond the window or too old: item-not-found

export class BoshSession implements StreamTransport {
  readonly kind = 'bosh' as const;
  readonly canStartTls = false;
  private handlers: BoshStreamHandlers | undefined;
  /** Highest rid processed; every lower rid has been processed too. */
  private lastRid: number;
  private readonly held: HeldRequest[] = [];
  private readonly deferred = new Map<number, DeferredRequest>();
  /** Started when a request waits for an earlier rid; the gap must fill within `wait`. */
  private gapTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly bucket: TokenBucket | undefined;
  /** Wakes the endpoint when the bucket is out of debt and the next request waits. */
  private shaperTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly responses = new Map<number, CachedResponse>();
  private queue: string[] = [];
  private queuedLength = 0;
  private flushScheduled = false;
  private inactivityTimer: ReturnType<typeof setTimeout> | undefined;
  private nextInactivityMs: number | undefined;
  private creationAnswered = false;
  private authid = '';
  private streamFrom: string | undefined;
  private ended = false;
  /** Set when the stream asked for a restart (SASL success); the next body must say xmpp:restart. */
  private restartExpected = false;
  private previous: { empty: boolean; answeredEmptyEarly: boolean; arrivedAt: number } | undefined;
  private clientAck: number | undefined;
  private reported = new Set<number>();
  private limits: Partial<ParserLimits> = {};
  /** The terminating body, once the session ended (for requests still in flight). */
  lastBody: string | undefined;
  /** The bound JID, remembered for undelivered stanzas after the stream forgot it. */
  boundJid: string | undefined;

  constructor(
    readonly sid: string,
    readonly params: SessionParams,
    readonly remoteAddress: string,
    readonly tls: TlsInfo | undefined,
    private readonly host: BoshSessionHost,
  ) {
    this.lastRid = params.rid;
    if (host.shaperRate !== undefined) this.bucket = shaperBucket(host.shaperRate);
  }

  /** Connects the stream logic; `creationReply` answers the session-creation request. */
  start(handlers: BoshStreamHandlers, creationReply: (r: BoshReply) => void, header: StreamHeader): void {
    this.handlers = handlers;
    this.hold({ rid: this.params.rid, reply: creationReply, timer: undefined, empty: false, arrivedAt: Date.now() });
    handlers.onStreamOpen(header);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  get parserLimits(): Partial<ParserLimits> {
    return this.limits;
  }

  // ── the rid window (XEP-0124 §14) ─────────────────────────────────────────────

  classify(rid: number): RidVerdict {
    // The next request may be waiting for the shaper already: a retransmission takes its place.
    if (rid === this.lastRid + 1) return this.deferred.has(rid) ? { kind: 'repeat', cached: undefined, held: true } : { kind: 'next' };
    if (rid > this.lastRid + 1) {
      return rid <= this.lastRid + this.params.requests && !this.deferred.has(rid) ? { kind: 'ahead' } : { kind: 'outside' };
    }
    const cached = this.responses.get(rid);
    const held = this.held.some((h) => h.rid === rid);
    if (cached === undefined && !held) return { kind: 'outside' };
    return { kind: 'repeat', cached: cached?.body, held };
  }

  defer(rid: number, bytes: Uint8Array, reply: (r: BoshReply) => void): void {
    if (this.tooBusy(1)) return this.terminate('policy-violation', reply);
    this.deferred.set(rid, { rid, bytes: bytes.slice(), reply });
    this.stopInactivity();
    this.watchGap();
  }

  /** The next request, held until the shaper's bucket is out of debt. */
  deferShaped(rid: number, bytes: Uint8Array, reply: (r: BoshReply) => void): void {
    if (this.tooBusy(1)) return this.terminate('policy-violation', reply);
    this.deferred.set(rid, { rid, bytes: bytes.slice(), reply });
    this.stopInactivity();
    this.wakeWhenShaped();
  }

  /** Milliseconds until the shaper lets the next body be processed (0: now). */
  shaperWaitMs(): number {
    return this.bucket?.debtMs() ?? 0;
  }

  /** A body of `bytes` is being processed: the shaper counts it. */
  charge(bytes: number): void {
    this.bucket?.take(bytes);
  }

  /**
   * A missing request that never comes would hold the ones after it forever (rule 10:
   * every wait is timed out). After `wait` the stream cannot continue in order: the
   * session ends. A next request that is only waiting for the shaper is no gap.
   */
  private watchGap(): void {
    this.gapTimer ??= setTimeout(() => {
      this.gapTimer = undefined;
      if (this.ended || this.deferred.size === 0) return;
      if (this.deferred.has(this.lastRid + 1)) return this.watchGap();
      this.terminate('item-not-found');
    }, this.params.waitMs);
    this.gapTimer.unref?.();
  }

  private wakeWhenShaped(): void {
    if (this.shaperTimer !== undefined) return;
    this.host.shaped?.();
    this.shaperTimer = setTimeout(() => {
      this.shaperTimer = undefined;
      if (!this.ended) this.host.runnable(this);
    }, Math.max(1, this.shaperWaitMs()));
    this.shaperTimer.unref?.();
  }

  /** The deferred request that can run now, if its turn has come and the shaper allows it. */
  takeRunnable(): DeferredRequest | undefined {
    const next = this.deferred.get(this.lastRid + 1);
    if (next && this.shaperWaitMs() > 0) {
      this.wakeWhenShaped();
      return undefined;
    }
    if (next) this.deferred.delete(next.rid);
    if (this.deferred.size === 0) this.clearGapTimer();
    return next;
  }

  /** A retransmission of a request still held (or waiting for the shaper): the new HTTP request takes its place. */
  replaceHeld(rid: number, reply: (r: BoshReply) => void): void {
    const h = this.held.find((x) => x.rid === rid) ?? this.deferred.get(rid);
    if (!h) return;
    const old = h.reply;
    h.reply = reply;
    // The old connection is most likely gone; answer it empty so nothing waits on it.
    old({ status: 200, body: bodyXml({}, '') });
  }

  // ── one in-order request ──────────────────────────────────────────────────────

  /** Marks rid as processed; the body's stanzas follow through `stanza()`. */
  begin(rid: number, header: StreamHeader): void {
    this.lastRid = rid;
    this.stopInactivity();
    const ack = header.attr('ack');
    if (ack !== undefined && /^[0-9]{1,16}$/.test(ack)) this.clientAck = Number(ack);
  }

  stanza(view: StanzaView): void {
    if (this.ended) return;
    this.handlers?.onStanza(view);
  }

  xmlError(error: XmlError): void {
    if (this.ended) return;
    this.handlers?.onError(error);
  }

  /**
   * The body ended well-formed. Holds the request, then applies its attributes: restart,
   * pause, terminate. `payload` tells whether it carried any element.
   */
  end(rid: number, header: StreamHeader, payload: boolean, reply: (r: BoshReply) => void, restart: boolean): void {
    if (this.ended) {
      // The stream ended while this body was read (e.g. a stanza it carried was refused).
      reply({ status: 200, body: this.lastBody ?? terminateXml() });
      return;
    }
    const type = header.attr('type');
    const pause = header.attr('pause');
    const now = Date.now();
    const empty = !payload && !restart && type !== 'terminate' && pause === undefined;

    // XEP-0124 §11 overactivity: polling faster than `polling` (two empty requests whose
    // first was answered at once and empty) or more simultaneous requests than `requests`.
    const prev = this.previous;
    this.previous = { empty, answeredEmptyEarly: false, arrivedAt: now };
    if (empty && prev?.empty && prev.answeredEmptyEarly && now - prev.arrivedAt < this.params.pollingMs) {
      return this.terminate('policy-violation', reply);
    }
    if (type !== 'terminate' && pause === undefined && this.tooBusy(1)) return this.terminate('policy-violation', reply);

    const request: HeldRequest = { rid, reply, timer: undefined, empty, arrivedAt: now };
    this.hold(request);

    if (type === 'terminate') {
      // The client ends the session; stanzas it sent (e.g. unavailable presence) are routed.
      this.handlers?.onStreamClose();
      if (!this.ended) this.close();
      return;
    }
    if (restart) {
      if (!this.restartExpected) return this.fatal('policy-violation', 'a restart was requested when none was due');
      this.restartExpected = false;
      this.handlers?.onStreamOpen(this.restartHeader(header));
    }
    if (pause !== undefined) {
      const seconds = /^[0-9]{1,9}$/.test(pause) ? Number(pause) : NaN;
      if (!(seconds * 1000 <= this.params.maxPauseMs)) return this.terminate('policy-violation');
      // XEP-0124 §10: answer everything now; the next gap may last as long as the pause.
      this.nextInactivityMs = seconds * 1000;
      this.releaseAll();
      return;
    }
    this.scheduleFlush();
  }

  // ── StreamTransport ───────────────────────────────────────────────────────────

  get queuedBytes(): number {
    return this.queuedLength;
  }

  openStream(header: ResponseHeader): void {
    // The session-creation response carries what TCP puts in <stream:stream>; a restart
    // opens nothing new on the wire.
    this.authid = header.id;
    this.streamFrom = header.from;
  }

  send(data: string | Uint8Array[]): void {
    if (this.ended) return;
    this.boundJid ??= this.handlers?.boundSession?.jid.toString();
    const xml = qualifyTopLevel(outboundText(data), true);
    this.queue.push(xml);
    this.queuedLength += xml.length;
    if (this.queuedLength > this.host.maxQueuedBytes && this.held.length === 0) {
      // Nobody polls and the queue keeps growing: end the session rather than buffer forever.
      this.fatal('policy-violation', 'the client does not collect its stanzas');
      return;
    }
    this.scheduleFlush();
  }

  close(error?: { condition: StreamErrorCondition; text?: string }): void {
    if (this.ended) return;
    this.finish((payload) => error === undefined
      ? terminateXml(undefined, payload, this.creationAttributes())
      : streamErrorTerminateXml(error.condition, error.text, payload));
  }

  startTls(): Promise<TlsInfo> {
    return Promise.reject(new Error('STARTTLS does not apply to BOSH'));
  }

  restartParser(): void {
    // Each body is tokenized on its own; what a restart changes is that the client must
    // now send a body with xmpp:restart='true'.
    this.restartExpected = true;
  }

  setParserLimits(limits: Partial<ParserLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  discardPendingInput(): void {
    // Nothing is buffered between bodies; STARTTLS is never offered over BOSH.
  }

  // ── ending ────────────────────────────────────────────────────────────────────

  /** A binding-level error (XEP-0124 §17): terminate with `condition`, answering `reply` too. */
  terminate(condition: BoshCondition, reply?: (r: BoshReply) => void): void {
    if (this.ended) {
      reply?.({ status: 200, body: terminateXml(condition) });
      return;
    }
    // Joins the held requests without pushing any out: each of them gets the terminate.
    if (reply) this.hold({ rid: this.lastRid, reply, timer: undefined, empty: false, arrivedAt: Date.now() }, false);
    // The stream logic unbinds; nothing it still queues is lost (finish hands it on).
    this.handlers?.onTransportClosed();
    this.finish((payload) => terminateXml(condition, payload));
  }

  /** A stream-level error decided here rather than by the stream logic (e.g. queue overflow). */
  private fatal(condition: 'policy-violation', text: string): void {
    this.handlers?.closeWith(condition, text);
    if (!this.ended) this.close({ condition, text });
  }

  /**
   * Ends the session. The oldest held request carries the terminating body with the last
   * stanzas; other held requests get a bare terminate so the client stops polling. With
   * no request to carry them, the stanzas go back to the server as undelivered.
   */
  private finish(terminateBody: (payload: string) => string): void {
    this.ended = true;
    this.stopInactivity();
    const stanzas = this.takeQueue();
    const held = this.held.splice(0);
    const finalBody = terminateBody('');
    this.lastBody = finalBody;
    for (const [i, h] of held.entries()) {
      clearTimeout(h.timer);
      const body = i === 0 ? terminateBody(stanzas.join('')) : finalBody;
      this.remember(h.rid, body);
      h.reply({ status: 200, body });
    }
    if (held.length === 0 && stanzas.length > 0) this.host.undelivered(this, stanzas);
    for (const d of this.deferred.values()) d.reply({ status: 200, body: finalBody });
    this.deferred.clear();
    this.clearGapTimer();
    clearTimeout(this.shaperTimer);
    this.shaperTimer = undefined;
    this.host.ended(this, finalBody);
  }

  private clearGapTimer(): void {
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }

  private takeQueue(): string[] {
    const stanzas = this.queue;
    this.queue = [];
    this.queuedLength = 0;
    return stanzas;
  }

  /** Inactivity: no request for too long. The stream ends; queued stanzas are undelivered. */
  private expire(): void {
    if (this.ended) return;
    this.handlers?.onTransportClosed();
    this.finish(() => terminateXml('item-not-found'));
  }

  // ── holding and answering ─────────────────────────────────────────────────────

  private tooBusy(adding: number): boolean {
    return this.held.length + this.deferred.size + adding > this.params.requests;
  }

  private hold(request: HeldRequest, release = true): void {
    let i = this.held.length;
    while (i > 0 && this.held[i - 1]!.rid > request.rid) i--;
    this.held.splice(i, 0, request);
    request.timer = setTimeout(() => this.answer(request, true), this.params.waitMs);
    request.timer.unref?.();
    if (!release) return;
    // More held than `hold`: the oldest goes back now (XEP-0124 §10), with data if any.
    while (this.held.length > this.params.hold && this.held.length > 1) this.answer(this.held[0]!, false);
    if (this.params.hold === 0) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Batch everything written in this turn (e.g. a result and a presence) in one response.
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (this.ended) return;
      if (this.queue.length > 0 && this.held.length > 0) this.answer(this.held[0]!, false);
      else if (this.params.hold === 0 && this.held.length > 0) this.answer(this.held[0]!, false);
      else if (!this.creationAnswered && this.held.length > 0) this.answer(this.held[0]!, false);
    });
  }

  private releaseAll(): void {
    while (this.held.length > 0) this.answer(this.held[0]!, false);
  }

  private answer(request: HeldRequest, atWait: boolean): void {
    const index = this.held.indexOf(request);
    if (index < 0 || this.ended) return;
    this.held.splice(index, 1);
    clearTimeout(request.timer);
    const payload = this.queue.join('');
    this.queue = [];
    this.queuedLength = 0;
    const attrs: BodyAttributes = this.creationAnswered ? {} : this.creationAttributes();
    this.creationAnswered = true;
    if (this.params.acks && request.rid !== this.lastRid) attrs.ack = this.lastRid;
    this.addReport(attrs);
    const body = bodyXml(attrs, payload);
    this.remember(request.rid, body);
    if (this.previous && request.rid === this.lastRid && payload === '' && !atWait) this.previous.answeredEmptyEarly = true;
    request.reply({ status: 200, body });
    if (this.held.length === 0) this.startInactivity();
  }

  /** XEP-0124 §9.3: tell the client about a response it seems not to have received. */
  private addReport(attrs: BodyAttributes): void {
    if (!this.params.acks || this.clientAck === undefined) return;
    const missing = this.clientAck + 1;
    const sent = this.responses.get(missing);
    if (!sent || this.reported.has(missing)) return;
    const age = Date.now() - sent.sentAt;
    if (age < this.host.reportAfterMs) return;
    this.reported.add(missing);
    attrs.report = missing;
    attrs.time = age;
  }

  private remember(rid: number, body: string): void {
    this.responses.set(rid, { body, sentAt: Date.now() });
    // Keep as many responses as the client may have outstanding requests.
    for (const old of this.responses.keys()) {
      if (old > rid - this.params.requests - 1) break;
      this.responses.delete(old);
      this.reported.delete(old);
    }
  }

  private creationAttributes(): BodyAttributes {
    if (this.creationAnswered) return {};
    const p = this.params;
    return {
      sid: this.sid,
      wait: Math.floor(p.waitMs / 1000),
      hold: p.hold,
      requests: p.requests,
      inactivity: Math.floor(p.inactivityMs / 1000),
      polling: Math.floor(p.pollingMs / 1000),
      maxpause: Math.floor(p.maxPauseMs / 1000),
      ver: p.ver,
      from: this.streamFrom,
      authid: this.authid,
      secure: 'true',
      ack: p.acks ? p.rid : undefined,
      'xmpp:version': '1.0',
      'xmpp:restartlogic': 'true',
    };
  }

  // ── inactivity ────────────────────────────────────────────────────────────────

  private startInactivity(): void {
    if (this.ended || this.held.length > 0) return;
    this.stopInactivity();
    const ms = this.nextInactivityMs ?? this.params.inactivityMs;
    this.nextInactivityMs = undefined;
    this.inactivityTimer = setTimeout(() => this.expire(), ms);
    this.inactivityTimer.unref?.();
  }

  private stopInactivity(): void {
    clearTimeout(this.inactivityTimer);
    this.inactivityTimer = undefined;
  }

  // ── headers for the stream logic ──────────────────────────────────────────────

  /** The stream header a restart body stands for: the session's parameters, its xml:lang. */
  private restartHeader(body: StreamHeader): StreamHeader {
    return boshStreamHeader(this.params, body.attr('xml:lang') ?? this.params.lang);
  }
}

/**
 * The stream header of a BOSH session, as the c2s state machine checks it (RFC 6120 §4.7
 * rules): `to`, `xml:lang`, and the XMPP version from xmpp:version (XEP-0206 §2).
 */
export function boshStreamHeader(params: SessionParams, lang: string | undefined): StreamHeader {
  const values: Record<string, string | undefined> = {
    to: params.to,
    from: params.from,
    version: params.xmppVersion,
    'xml:lang': lang,
  };
  const attrs = Object.entries(values)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => ({
      name,
      local: name.startsWith('xml:') ? name.slice(4) : name,
      prefix: name.startsWith('xml:') ? 'xml' : '',
      ns: name.startsWith('xml:') ? 'http://www.w3.org/XML/1998/namespace' : '',
      value,
    }));
  return {
    name: 'body',
    local: 'body',
    ns: NS_BOSH,
    attrs,
    attr: (name: string) => values[name],
    namespaces: new Map([['', NS_BOSH]]),
  };
}
