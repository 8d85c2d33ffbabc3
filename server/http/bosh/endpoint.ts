// The BOSH endpoint: turns request bodies into session events. Every body goes through
// the same restricted tokenizer as TCP (one instance for the endpoint, reset per body):
// the <body/> start tag arrives as the stream header, its children as stanzas, forwarded
// to the session's c2s stream while they are still zero-copy views.

import { randomBytes } from 'node:crypto';
import type { ParserLimits, StanzaView, StreamHeader, XmlError } from '../../../parser-wasm/host/types.ts';
import { XmlStream } from '../../../parser-wasm/host/stream.ts';
import type { Logger } from '../../log.ts';
import type { TlsInfo } from '../../runtime/types.ts';
import type { StreamTransport } from '../../streams/transport.ts';
import type { Element } from '../../xml/element.ts';
import { NS_BOSH } from '../../ns.ts';
import { sameClientCertificate } from '../client-certificate.ts';
import type { BoshOptions } from '../options.ts';
import { streamErrorTerminateXml, terminateXml, type BoshCondition } from './body.ts';
import type { Admission } from '../../guard/guard.ts';
import type { StreamErrorCondition } from '../../errors.ts';
import { parseRid, sessionParams, xbosh } from './params.ts';
import { boshStreamHeader, BoshSession, type BoshReply, type BoshSessionHost, type BoshStreamHandlers } from './session.ts';

export interface BoshEndpointDeps {
  readonly options: BoshOptions;
  readonly log: Logger;
  isServedHost(domain: string): boolean;
  readonly defaultHost: string | undefined;
  /** Limits for tokenizing a body before its session is known (the larger, authenticated ones). */
  readonly bodyLimits: ParserLimits;
  /** The c2s stream for a new session (a C2sStream over the given transport). */
  createStream(transport: StreamTransport): BoshStreamHandlers;
  /** Stanzas no response carried when a session ended: store them or bounce them. */
  undelivered(jid: string | undefined, stanzas: Element[]): void;
  /**
   * The node's connection guard: counts a new session in (released when it ends) or
   * refuses it. Absent: sessions are not counted.
   */
  admitSession?(remoteAddress: string): Admission;
  /** The listener's shaper in bytes per second, applied per session to the bodies it sends. */
  readonly shaperRate?: number;
  /** The shaper held a body back (metrics). */
  shaped?(): void;
}

export interface BoshRequestInfo {
  remoteAddress: string;
  tls: TlsInfo | undefined;
}

type Reply = (r: BoshReply) => void;

/** What the tokenizer events of the body being read go to. */
interface BodyRun {
  bytes: Uint8Array;
  info: BoshRequestInfo;
  reply: Reply;
  header: StreamHeader | undefined;
  /** The header was refused; the reply is already decided. */
  done: boolean;
  /** In-order body of this session: stanzas go to its stream. */
  session: BoshSession | undefined;
  rid: number;
  /** Out-of-order body to keep until its turn (checked for well-formedness first). */
  deferTo: BoshSession | undefined;
  creation: boolean;
  restart: boolean;
  elements: number;
  closed: boolean;
  afterClose: boolean;
  error: XmlError | undefined;
  /** Collect detached copies instead of routing (used to re-read undelivered stanzas). */
  collect: Element[] | undefined;
  /** The body's turn has come but the session's shaper is in debt: it waits, like one ahead of its turn. */
  shaped: boolean;
}

export class BoshEndpoint {
  private readonly sessions = new Map<string, BoshSession>();
  /** Ended SIDs with the last body they sent, oldest first; bounded (never reused). */
  private readonly terminated = new Map<string, string>();
  /** The guard's count of each live session, released when it ends. */
  private readonly admitted = new Map<string, () => void>();
  private readonly tokenizer: XmlStream;
  private run: BodyRun | undefined;
  private readonly host: BoshSessionHost;

  constructor(private readonly deps: BoshEndpointDeps) {
    this.tokenizer = new XmlStream({
      onStreamOpen: (h) => this.onHeader(h),
      onStanza: (v) => this.onElement(v),
      onStreamClose: () => this.onBodyClose(),
      onError: (e) => this.onXmlError(e),
    });
    this.host = {
      reportAfterMs: deps.options.reportAfterMs,
      maxQueuedBytes: deps.options.maxQueuedBytes,
      shaperRate: deps.shaperRate,
      shaped: deps.shaped,
      ended: (session, finalBody) => this.sessionEnded(session, finalBody),
      runnable: (session) => this.runDeferred(session),
      // Deferred: a session can end while a body is being tokenized, and the tokenizer is not re-entrant.
      undelivered: (session, stanzas) => queueMicrotask(() => this.deps.undelivered(session.boundJid, this.reread(stanzas))),
    };
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Handles one POSTed body. The promise settles when the response is due (maybe after `wait`). */
  handle(bytes: Uint8Array, info: BoshRequestInfo): Promise<BoshReply> {
    return new Promise<BoshReply>((resolve) => {
      let answered = false;
      const reply: Reply = (r) => {
        if (answered) return;
        answered = true;
        resolve(r);
      };
      this.read(bytes, info, reply);
    });
  }

  /** Ends every session (server shutdown). */
  shutdown(): void {
    for (const session of [...this.sessions.values()]) session.terminate('system-shutdown');
  }

  // ── reading one body ──────────────────────────────────────────────────────────

  private read(bytes: Uint8Array, info: BoshRequestInfo, reply: Reply): void {
    const run: BodyRun = {
      bytes, info, reply, header: undefined, done: false, session: undefined, rid: 0, deferTo: undefined,
      creation: false, restart: false, elements: 0, closed: false, afterClose: false, error: undefined, collect: undefined,
      shaped: false,
    };
    this.feed(run);
    this.finishBody(run);
  }

  private feed(run: BodyRun): void {
    const outer = this.run;
    this.run = run;
    try {
      this.tokenizer.reset();
      this.tokenizer.setLimits(this.deps.bodyLimits);
      this.tokenizer.feed(run.bytes);
    } finally {
      this.run = outer;
    }
  }

  private onHeader(header: StreamHeader): void {
    const run = this.run!;
    if (run.header !== undefined || run.closed) {
      run.afterClose = true;
      return;
    }
    run.header = header;
    if (run.collect) return;
    if (header.local !== 'body' || header.ns !== NS_BOSH) return this.refuse(run, 'bad-request');
    const sid = header.attr('sid');
    if (sid === undefined) {
      run.creation = true;
      return;
    }
    const session = this.sessions.get(sid);
    if (!session) {
      const last = this.terminated.get(sid);
      run.done = true;
      run.reply({ status: 200, body: last ?? terminateXml('item-not-found') });
      return;
    }
    if (!sameClientCertificate(session.tls, run.info.tls)) {
      this.deps.log.info('bosh_certificate_mismatch', { sid, remote: run.info.remoteAddress });
      run.done = true;
      return session.terminate('policy-violation', run.reply);
    }
    const rid = parseRid(header.attr('rid'));
    if (rid === undefined) {
      run.done = true;
      return session.terminate('bad-request', run.reply);
    }
    run.rid = rid;
    const verdict = session.classify(rid);
    switch (verdict.kind) {
      case 'next':
        if (session.shaperWaitMs() > 0) {
          // Read again once the bucket allows; until then nothing in it is processed.
          run.deferTo = session;
          run.shaped = true;
          return;
        }
        session.charge(run.bytes.length);
        run.session = session;
        run.restart = xbosh(header, 'restart') === 'true';
        session.begin(rid, header);
        // Stanzas of this body are checked against the stream's own limits (pre-auth or not).
        this.tokenizer.setLimits(session.parserLimits);
        return;
      case 'ahead':
        run.deferTo = session;
        return;
      case 'repeat':
        run.done = true;
        if (verdict.cached !== undefined) run.reply({ status: 200, body: verdict.cached });
        else session.replaceHeld(rid, run.reply);
        return;
      case 'outside':
        run.done = true;
        return session.terminate('item-not-found', run.reply);
    }
  }

  private onElement(view: StanzaView): void {
    const run = this.run!;
    if (run.closed) {
      run.afterClose = true;
      return;
    }
    run.elements++;
    if (run.collect) {
      run.collect.push(view.toElement());
      return;
    }
    if (run.session && !run.done) {
      if (run.restart) {
        // XEP-0206 §5: a restart body carries nothing else.
        run.done = true;
        run.session.terminate('bad-request', run.reply);
        return;
      }
      run.session.stanza(view);
    }
  }

  private onBodyClose(): void {
    const run = this.run!;
    if (run.closed) run.afterClose = true;
    run.closed = true;
  }

  private onXmlError(error: XmlError): void {
    const run = this.run!;
    run.error ??= error;
    if (run.collect || run.done) return;
    if (run.session && error.condition !== 'not-well-formed') {
      // Restricted XML or a limit crossed inside a stanza: the stream logic decides, as on TCP.
      run.done = true;
      run.session.xmlError(error);
      if (!run.session.isEnded) run.session.terminate('bad-request');
      run.reply({ status: 200, body: run.session.lastBody ?? terminateXml('bad-request') });
    }
  }

  private refuse(run: BodyRun, condition: BoshCondition): void {
    run.done = true;
    run.reply({ status: 200, body: terminateXml(condition) });
  }

  private finishBody(run: BodyRun): void {
    if (run.done) return;
    const malformed = run.error !== undefined || !run.closed || run.afterClose || run.header === undefined;
    if (malformed) {
      // Not one well-formed <body/>: a binding error (XEP-0124 §17 bad-request).
      run.done = true;
      const session = run.session ?? run.deferTo;
      if (session) session.terminate('bad-request', run.reply);
      else run.reply({ status: 200, body: terminateXml('bad-request') });
      return;
    }
    if (run.creation) return this.create(run);
    if (run.deferTo) return run.shaped ? run.deferTo.deferShaped(run.rid, run.bytes, run.reply) : run.deferTo.defer(run.rid, run.bytes, run.reply);
    const session = run.session!;
    session.end(run.rid, run.header!, run.elements > 0, run.reply, run.restart);
    this.runDeferred(session);
  }

  /** Requests that arrived ahead of their turn run once the gap before them is filled. */
  private runDeferred(session: BoshSession): void {
    for (let next = session.takeRunnable(); next && !session.isEnded; next = session.takeRunnable()) {
      this.read(next.bytes, this.infoOf(session), next.reply);
    }
  }

  private infoOf(session: BoshSession): BoshRequestInfo {
    return { remoteAddress: session.remoteAddress, tls: session.tls };
  }

  // ── session creation (XEP-0124 §7, XEP-0206 §2) ───────────────────────────────

  private create(run: BodyRun): void {
    const header = run.header!;
    const checked = sessionParams(header, this.deps.options);
    if (!checked.ok) {
      this.deps.log.info('bosh_bad_creation', { remote: run.info.remoteAddress, reason: checked.text });
      return this.refuse(run, 'bad-request');
    }
    const params = checked.params;
    const to = params.to?.toLowerCase() || this.deps.defaultHost;
    if (to === undefined || !this.deps.isServedHost(to)) return this.refuse(run, 'host-unknown');
    params.to = to;
    if (this.sessions.size >= this.deps.options.maxSessions) {
      this.deps.log.warn('bosh_session_limit', { sessions: this.sessions.size });
      return this.refuse(run, 'policy-violation');
    }
    // Last, so that nothing after it can refuse a session the guard has counted.
    const admission = this.deps.admitSession?.(run.info.remoteAddress);
    if (admission?.ok === false) {
      // Debug only: a refused flood must not become a flood of log lines (the metric counts them).
      this.deps.log.debug('bosh_session_refused', { remote: run.info.remoteAddress, why: admission.refusal });
      run.done = true;
      run.reply({ status: 200, body: refusalBody(admission) });
      return;
    }
    const session = new BoshSession(this.newSid(), params, run.info.remoteAddress, run.info.tls, this.host);
    this.sessions.set(session.sid, session);
    if (admission?.ok) this.admitted.set(session.sid, admission.ticket.release);
    session.charge(run.bytes.length);
    const stream = this.deps.createStream(session);
    session.start(stream, run.reply, boshStreamHeader(params, params.lang));
  }

  /** 128 random bits; a collision with a live or remembered SID draws again. */
  private newSid(): string {
    for (;;) {
      const sid = randomBytes(16).toString('base64url');
      if (!this.sessions.has(sid) && !this.terminated.has(sid)) return sid;
    }
  }

  private sessionEnded(session: BoshSession, finalBody: string): void {
    if (this.sessions.get(session.sid) !== session) return;
    this.admitted.get(session.sid)?.();
    this.admitted.delete(session.sid);
    this.sessions.delete(session.sid);
    this.terminated.set(session.sid, finalBody);
    const limit = this.deps.options.rememberTerminated;
    for (const sid of this.terminated.keys()) {
      if (this.terminated.size <= limit) break;
      this.terminated.delete(sid);
    }
  }

  /** Reads stanzas we serialized back into elements, through the same tokenizer. */
  private reread(stanzas: string[]): Element[] {
    const collect: Element[] = [];
    const text = `<body xmlns='${NS_BOSH}' xmlns:stream='http://etherx.jabber.org/streams'>${stanzas.join('')}</body>`;
    const run: BodyRun = {
      bytes: new TextEncoder().encode(text), info: { remoteAddress: '', tls: undefined }, reply: () => {}, header: undefined,
      done: false, session: undefined, rid: 0, deferTo: undefined, creation: false, restart: false, elements: 0,
      closed: false, afterClose: false, error: undefined, collect, shaped: false,
    };
    this.feed(run);
    if (run.error) this.deps.log.error('bosh_undelivered_unreadable', { error: run.error.message, count: stanzas.length });
    return collect;
  }
}

/**
 * The body refusing a session the guard did not admit (XEP-0124 §17.2). Over the per-IP
 * cap or banned: `policy-violation`, the client broke the rules. Over the node's total cap
 * the server lacks resources, which no binding condition says; `remote-stream-error`
 * ("an error in the protocol being transported") carries the XMPP stream error a TCP or
 * WebSocket client gets in the same case, `resource-constraint`, with its text. The other
 * candidates say something false: `remote-connection-failed` a broken link to a separate
 * XMPP server, `internal-server-error` a fault, `system-shutdown` that the server is going away.
 */
export function refusalBody(refusal: { condition: StreamErrorCondition; text: string }): string {
  return refusal.condition === 'policy-violation'
    ? terminateXml('policy-violation')
    : streamErrorTerminateXml(refusal.condition, refusal.text);
}
