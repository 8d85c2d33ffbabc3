// The client-to-server stream state machine (RFC 6120 §4–§7): header checks, STARTTLS,
// SASL, resource binding, then stanza routing. Transport-independent: TCP, WebSocket and
// BOSH feed it the tokenizer's events and give it a StreamTransport to write to.
//
// SASL steps are asynchronous (storage look-ups, PBKDF2). While one runs, elements that
// arrive are detached from the tokenizer and queued in order (bounded), so pipelined
// clients work and the zero-copy views never outlive their callback.
//
// Stream management (XEP-0198) is the SmState a provider (mod_stream_management) hands the
// stream on <enable/> or <resume/>: from then on every stanza written goes through it (it
// keeps a copy until the client acknowledges it), every stanza handled is counted, and when
// the connection is lost the state decides whether the session hibernates or ends.

import { randomBytes } from 'node:crypto';
import type { StanzaView, StreamHeader, XmlError, XmlStreamHandlers } from '../../parser-wasm/host/types.ts';
import type { Element } from '../xml/element.ts';
import type { TlsInfo } from '../runtime/types.ts';
import { checkStreamHeader, type StreamErrorCondition } from './header.ts';
import type { BoundSession, C2sEnv, SessionOwner } from './c2s-env.ts';
import type { StreamTransport } from './transport.ts';
import {
  decodeSaslPayload,
  mechanismsFeature,
  saslChallenge,
  saslFailure,
  saslSuccess,
  type SaslConnectionInfo,
  type SaslExchangeLike,
  type SaslFailureCondition,
  type SaslStepLike,
} from './sasl-negotiation.ts';
import { escapeAttribute, escapeText } from '../xml/escape.ts';
import { ownedBytes } from '../bytes.ts';
import { makeJid, tryParseJid } from '../jid.ts';
import { NS_BIND, NS_CLIENT, NS_SASL, NS_SESSION, NS_SM, NS_STANZAS, NS_TLS } from '../ns.ts';
import type { SmState, SmStreamLink } from './stream-management.ts';

// XEP-0478 stream limits advertisement.
const NS_STREAM_LIMITS = 'urn:xmpp:stream-limits:0';

/** Elements queued while an asynchronous step runs; more than this is abuse. */
const MAX_PENDING_ELEMENTS = 32;

type Phase =
  | 'header'        // waiting for the initial header or a restart
  | 'negotiating'   // features sent, before authentication
  | 'authenticated' // SASL done and stream restarted, before bind
  | 'bound'
  | 'closed';

type Input = { kind: 'view'; view: StanzaView } | { kind: 'element'; el: Element };

export class C2sStream implements XmlStreamHandlers, SessionOwner {
  private phase: Phase = 'header';
  private headerSent = false;
  private host: string | undefined;
  private lang = 'en';
  private streamId = '';
  private user: string | undefined;
  private session: BoundSession | undefined;
  private exchange: SaslExchangeLike | undefined;
  private offeredMechanisms: string[] = [];
  private authFailures = 0;
  private busy = false;
  private pending: Element[] = [];
  private preauthTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stream management, once enabled or resumed on this stream. */
  private sm: SmState | undefined;

  constructor(
    private readonly transport: StreamTransport,
    private readonly env: C2sEnv,
  ) {
    transport.setParserLimits(env.limits.preauth);
    this.preauthTimer = setTimeout(() => this.fail('connection-timeout', 'no session was established in time'), env.limits.preauthTimeoutMs);
    this.preauthTimer.unref?.();
    env.count('c2s_connections', { transport: transport.kind });
  }

  get boundSession(): BoundSession | undefined {
    return this.session;
  }

  /** A getter, so checks after a call that may have closed the stream are not narrowed away. */
  private get closed(): boolean {
    return this.phase === 'closed';
  }

  private get encrypted(): boolean {
    return this.transport.tls !== undefined;
  }

  // ── tokenizer events ────────────────────────────────────────────────────────────

  onStreamOpen(header: StreamHeader): void {
    if (this.phase === 'closed') return;
    if (this.phase !== 'header') {
      this.fail('policy-violation', 'a second stream header was sent without a stream restart');
      return;
    }
    this.streamId = randomBytes(12).toString('base64url');
    const check = checkStreamHeader(header, {
      framing: this.transport.kind,
      contentNamespace: NS_CLIENT,
      isServedHost: (d) => this.env.isServedHost(d),
      defaultHost: this.env.defaultHost,
    });
    if (!check.ok) {
      this.fail(check.condition, check.text, check.to);
      return;
    }
    if (this.host !== undefined && check.to !== this.host) {
      this.fail('host-unknown', 'the stream was restarted for another domain');
      return;
    }
    if (this.user !== undefined && check.from !== undefined && !this.fromMatchesUser(check.from)) {
      this.fail('invalid-from', 'the stream from does not match the authenticated identity');
      return;
    }
    this.host = check.to;
    this.lang = check.lang;
    this.transport.openStream({ id: this.streamId, from: this.host, lang: this.lang });
    this.headerSent = true;
    this.phase = this.user === undefined ? 'negotiating' : 'authenticated';
    this.transport.send(this.features());
  }

  onStanza(view: StanzaView): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'header') {
      // Only possible after a restart we asked for: anything but a header is out of order.
      this.fail('not-well-formed', 'expected a stream header');
      return;
    }
    if (this.busy) {
      if (this.pending.length >= MAX_PENDING_ELEMENTS) {
        this.fail('policy-violation', 'too many elements sent while authentication was in progress');
        return;
      }
      this.pending.push(view.toElement());
      return;
    }
    this.dispatch({ kind: 'view', view });
  }

  onStreamClose(): void {
    if (this.phase === 'closed') return;
    this.shutdown('stream closed by client');
    this.transport.close();
  }

  onError(error: XmlError): void {
    this.env.count('xml_errors', { condition: error.condition });
    this.fail(error.condition, error.message);
  }

  /** The transport lost the connection (peer gone, TLS failure, write error). */
  onTransportClosed(): void {
    if (this.phase === 'closed') return;
    this.shutdown('connection closed', true);
  }

  // ── SessionOwner (called by the session manager) ────────────────────────────────

  deliver(parts: string | Uint8Array[]): void {
    if (this.phase === 'closed') return;
    // Under stream management the bytes are kept until acknowledged: a copy out of the
    // sender's tokenizer memory, which is only valid during this call.
    if (this.sm) this.sm.send(ownedBytes(parts));
    else this.transport.send(parts);
    if (!this.closed && this.transport.queuedBytes > this.env.limits.maxOutboundBytes) {
      this.env.log.warn('c2s_outbound_queue_full', { jid: this.session?.jid.toString(), queued: this.transport.queuedBytes });
      this.fail('policy-violation', 'the client does not read its stream fast enough');
    }
  }

  closeWith(condition: StreamErrorCondition, text?: string): void {
    this.fail(condition, text);
  }

  // ── dispatch ────────────────────────────────────────────────────────────────────

  private dispatch(input: Input): void {
    const ns = input.kind === 'view' ? input.view.ns : input.el.ns;
    const local = input.kind === 'view' ? input.view.local : input.el.localName;

    if (this.phase === 'bound' && ns === NS_CLIENT && (local === 'message' || local === 'presence' || local === 'iq')) {
      this.handleBoundStanza(input, local);
      this.sm?.handled();
      return;
    }
    const el = input.kind === 'view' ? input.view.toElement() : input.el;
    if (ns === NS_SM && this.phase !== 'header' && this.handleStreamManagement(el)) return;
    if (ns === NS_TLS && local === 'starttls') return this.handleStartTls();
    if (ns === NS_SASL) return this.handleSasl(el);
    if (ns === NS_CLIENT && (local === 'message' || local === 'presence' || local === 'iq')) {
      if (this.phase === 'negotiating') {
        if (local === 'iq' && this.handleUnauthenticatedIq(el)) return;
        return this.fail('not-authorized', 'authenticate first');
      }
      // Authenticated, not bound: only bind and session IQs are meaningful.
      return this.handleUnboundIq(el);
    }
    if (this.phase === 'bound' && this.session && this.env.streamElement?.(this.session, el)) return;
    this.fail('unsupported-stanza-type', `<${el.localName}/> in ${ns || 'no namespace'} is not supported here`);
  }

  private handleBoundStanza(input: Input, local: string): void {
    const session = this.session!;
    const from = input.kind === 'view' ? input.view.attr('from') : input.el.attr('from');
    if (from !== undefined && !this.fromMatchesSession(from)) {
      this.fail('invalid-from', 'the from address does not match this session');
      return;
    }
    if (local === 'iq' && this.handleSessionIq(input)) return;
    this.env.routeFromClient(session, input.kind === 'view' ? input.view : input.el);
  }

  // ── STARTTLS (RFC 6120 §5) ───────────────────────────────────────────────────────

  private handleStartTls(): void {
    if (this.phase !== 'negotiating' || !this.transport.canStartTls || this.env.tls === undefined || this.encrypted) {
      this.transport.send(`<failure xmlns='${NS_TLS}'/>`);
      this.fail(undefined);
      return;
    }
    // Bytes that came with <starttls/> were sent in plaintext: they must not be processed.
    this.transport.discardPendingInput();
    this.transport.send(`<proceed xmlns='${NS_TLS}'/>`);
    // The transport restarts its tokenizer before the first decrypted byte; the client's
    // next words are a new stream header.
    this.restartStream();
    this.transport.startTls().then(
      (info: TlsInfo) => this.env.count('starttls', { version: info.version }),
      (err: Error) => {
        this.env.log.info('c2s_tls_failed', { remote: this.transport.remoteAddress, reason: err.message });
        this.shutdown('TLS handshake failed');
        this.transport.close();
      },
    );
  }

  // ── SASL (RFC 6120 §6) ───────────────────────────────────────────────────────────

  private saslConnection(): SaslConnectionInfo {
    return { host: this.host!, tls: this.transport.tls };
  }

  private handleSasl(el: Element): void {
    if (this.phase !== 'negotiating') {
      this.fail('policy-violation', 'SASL is not allowed at this point');
      return;
    }
    const local = el.localName;
    if (local === 'auth') {
      if (this.exchange) {
        // A new <auth/> while one runs aborts the old exchange (RFC 6120 §6.4.1 lets us).
        this.exchange = undefined;
      }
      if (this.env.tlsRequired && !this.encrypted) return this.saslFailed('encryption-required', 'use STARTTLS first', false);
      const mechanism = el.attr('mechanism') ?? '';
      if (!this.offeredMechanisms.includes(mechanism)) return this.saslFailed('invalid-mechanism', undefined, true);
      const payload = decodeSaslPayload(el.text.trim());
      if (!payload.ok) return this.saslFailed('incorrect-encoding', undefined, true);
      const started = this.env.startSasl(mechanism, this.saslConnection(), this.offeredMechanisms);
      if (!started.ok) return this.saslFailed(started.condition, undefined, true);
      this.exchange = started.exchange;
      this.runSaslStep(started.exchange, payload.data);
      return;
    }
    if (local === 'response') {
      const exchange = this.exchange;
      if (!exchange) return this.saslFailed('malformed-request', 'no authentication is in progress', true);
      const payload = decodeSaslPayload(el.text.trim());
      if (!payload.ok) {
        this.exchange = undefined;
        return this.saslFailed('incorrect-encoding', undefined, true);
      }
      this.runSaslStep(exchange, payload.data ?? new Uint8Array(0));
      return;
    }
    if (local === 'abort') {
      this.exchange = undefined;
      return this.saslFailed('aborted', undefined, true);
    }
    this.fail('unsupported-stanza-type', `<${local}/> is not a SASL element`);
  }

  private runSaslStep(exchange: SaslExchangeLike, input: Uint8Array | null): void {
    this.busy = true;
    exchange.step(input).then(
      (step) => this.afterSaslStep(exchange, step),
      (err: Error) => {
        this.env.log.error('sasl_step_failed', { error: err });
        this.afterSaslStep(exchange, { kind: 'failure', condition: 'temporary-auth-failure' });
      },
    );
  }

  private afterSaslStep(exchange: SaslExchangeLike, step: SaslStepLike): void {
    this.busy = false;
    if (this.phase === 'closed' || this.exchange !== exchange) return this.drainPending();
    if (step.kind === 'challenge') {
      this.transport.send(saslChallenge(step.data));
    } else if (step.kind === 'failure') {
      this.exchange = undefined;
      this.saslFailed(step.condition, step.text, true);
    } else {
      this.exchange = undefined;
      const user = this.env.normalizeUsername(step.authcid);
      if (user === undefined) {
        this.saslFailed('not-authorized', undefined, true);
      } else {
        this.user = user;
        this.env.count('logins', { transport: this.transport.kind });
        this.env.log.info('c2s_authenticated', { user: `${user}@${this.host}`, remote: this.transport.remoteAddress });
        this.transport.send(saslSuccess(step.data));
        // Success ends this stream; whatever follows belongs to the restarted stream.
        this.pending = [];
        this.transport.restartParser();
        this.transport.setParserLimits(this.env.limits.authenticated);
        this.restartStream();
        return;
      }
    }
    this.drainPending();
  }

  private saslFailed(condition: SaslFailureCondition, text: string | undefined, counts: boolean): void {
    this.transport.send(saslFailure(condition, text));
    this.env.count('auth_failures', { condition });
    if (!counts) return;
    this.authFailures++;
    if (this.authFailures >= this.env.limits.maxAuthFailures) {
      this.env.log.warn('c2s_auth_failure_budget_exhausted', { remote: this.transport.remoteAddress });
      this.fail('policy-violation', 'too many failed authentication attempts');
    }
  }

  private drainPending(): void {
    while (!this.busy && this.pending.length > 0 && this.phase !== 'closed') {
      const el = this.pending.shift()!;
      this.dispatch({ kind: 'element', el });
    }
  }

  // ── IQs before authentication: in-band registration (XEP-0077) only ─────────────

  private handleUnauthenticatedIq(el: Element): boolean {
    // A password must not cross the wire in plaintext where SASL would not be allowed either.
    if (this.env.tlsRequired && !this.encrypted) return false;
    const reply = this.env.unauthenticatedIq?.(this.host!, this.transport.remoteAddress, el);
    if (reply === undefined) return false;
    this.busy = true;
    reply.then(
      (answer) => {
        this.busy = false;
        if (this.phase !== 'closed') this.transport.send(answer.toString());
        this.drainPending();
      },
      (err: Error) => {
        this.busy = false;
        this.env.log.error('c2s_unauthenticated_iq_failed', { error: err });
        this.fail('internal-server-error');
      },
    );
    return true;
  }

  // ── resource binding (RFC 6120 §7) and the legacy session IQ (RFC 3921) ───────────

  private handleUnboundIq(el: Element): void {
    const type = el.attr('type');
    const id = el.attr('id');
    const bind = el.getChild('bind', NS_BIND);
    if (el.localName === 'iq' && type === 'set' && id !== undefined && bind) {
      const resourceEl = bind.getChild('resource', NS_BIND);
      const requested = resourceEl?.text;
      const result = this.env.bind(this, this.user!, this.host!, requested === undefined || requested === '' ? undefined : requested);
      if (!result.ok) {
        this.transport.send(iqError(id, 'modify', result.condition === 'conflict' ? 'cancel' : undefined, result.condition, result.text));
        return;
      }
      this.session = result.session;
      this.phase = 'bound';
      clearTimeout(this.preauthTimer);
      this.preauthTimer = undefined;
      this.transport.send(`<iq type='result' id='${escapeAttribute(id)}'><bind xmlns='${NS_BIND}'><jid>${escapeText(result.session.jid.toString())}</jid></bind></iq>`);
      return;
    }
    if (el.localName === 'iq' && type === 'set' && id !== undefined && el.getChild('session', NS_SESSION)) {
      this.transport.send(`<iq type='result' id='${escapeAttribute(id)}'/>`);
      return;
    }
    this.fail('not-authorized', 'bind a resource first');
  }

  /** Session and bind IQs after binding are answered here rather than routed. */
  private handleSessionIq(input: Input): boolean {
    const el = input.kind === 'view' ? undefined : input.el;
    const view = input.kind === 'view' ? input.view : undefined;
    const to = view ? view.attr('to') : el!.attr('to');
    if (to !== undefined && to !== this.host) return false;
    const type = view ? view.attr('type') : el!.attr('type');
    if (type !== 'set') return false;
    const element = el ?? view!.toElement();
    const id = element.attr('id') ?? '';
    if (element.getChild('session', NS_SESSION)) {
      this.sendStanza(`<iq type='result' id='${escapeAttribute(id)}'/>`);
      return true;
    }
    if (element.getChild('bind', NS_BIND)) {
      this.sendStanza(iqError(id, 'cancel', undefined, 'not-allowed', 'a resource is already bound'));
      return true;
    }
    return false;
  }

  /** A stanza the stream answers itself once bound: counted and kept under stream management. */
  private sendStanza(text: string): void {
    if (this.sm) this.sm.send(text);
    else this.transport.send(text);
  }

  // ── stream management (XEP-0198) ────────────────────────────────────────────────

  /** False when no provider serves this host (the element is then unsupported). */
  private handleStreamManagement(el: Element): boolean {
    const provider = this.host === undefined ? undefined : this.env.streamManagement?.(this.host);
    if (provider === undefined) return false;
    switch (el.localName) {
      case 'enable': {
        // §3: only after binding a resource, and once.
        if (this.phase !== 'bound' || this.sm !== undefined) return this.smUnexpected();
        const result = provider.enable(this.session!, el, this.smLink());
        this.transport.send(result.reply);
        if (result.ok) this.sm = result.state;
        return true;
      }
      case 'resume': {
        // §5: instead of binding, on an authenticated stream.
        if (this.phase !== 'authenticated' || this.sm !== undefined) return this.smUnexpected();
        const result = provider.resume(makeJid(this.user!, this.host!), el, this.smLink());
        this.transport.send(result.reply);
        if (!result.ok) return true;
        this.session = result.session;
        this.sm = result.state;
        result.session.attach?.(this);
        this.phase = 'bound';
        clearTimeout(this.preauthTimer);
        this.preauthTimer = undefined;
        for (const stanza of result.resend) this.transport.send(typeof stanza === 'string' ? stanza : [stanza]);
        if (result.resend.length > 0) this.transport.send(`<r xmlns='${NS_SM}'/>`);
        return true;
      }
      case 'r': {
        // A request before SM was enabled has no count to answer with.
        const sm = this.sm;
        if (!sm) return true;
        // The count as of this request, sent once what those stanzas caused is stored: an
        // acknowledged stanza must survive a crash (an offline message is written async).
        const answer = sm.answerAckRequest();
        this.env.afterPendingWrites(() => {
          if (this.phase !== 'closed' && this.sm === sm) this.transport.send(answer);
        });
        return true;
      }
      case 'a':
        this.sm?.acknowledged(el.attr('h'));
        return true;
      default:
        return false;
    }
  }

  private smUnexpected(): true {
    this.transport.send(`<failed xmlns='${NS_SM}'><unexpected-request xmlns='${NS_STANZAS}'/></failed>`);
    this.env.count('sm_failed', { condition: 'unexpected-request' });
    return true;
  }

  /** What the SM state may do to this stream; it keeps working (harmlessly) after the stream closed. */
  private smLink(): SmStreamLink {
    return {
      write: (data) => {
        if (this.phase !== 'closed') this.transport.send(typeof data === 'string' ? data : [data]);
      },
      fail: (condition, text, appCondition) => this.fail(condition, text, undefined, appCondition),
      takenOver: () => {
        // The session and its SM state now belong to the resuming stream: close without ending them.
        this.session = undefined;
        this.sm = undefined;
        this.fail('conflict', 'the session was resumed on another connection');
      },
      unbind: (session, reason) => this.env.unbind(session, reason),
      count: (what, labels) => this.env.count(what, labels),
    };
  }

  // ── features ────────────────────────────────────────────────────────────────────

  private features(): string {
    let s = '<stream:features>';
    const limits = this.user === undefined ? this.env.limits.preauth : this.env.limits.authenticated;
    if (this.user === undefined) {
      const offerTls = this.transport.canStartTls && this.env.tls !== undefined && !this.encrypted;
      if (offerTls) s += `<starttls xmlns='${NS_TLS}'>${this.env.tlsRequired ? '<required/>' : ''}</starttls>`;
      if (!(offerTls && this.env.tlsRequired)) {
        this.offeredMechanisms = this.env.saslMechanisms(this.saslConnection());
        s += mechanismsFeature(this.offeredMechanisms);
      } else {
        this.offeredMechanisms = [];
      }
    } else {
      s += `<bind xmlns='${NS_BIND}'/><session xmlns='${NS_SESSION}'><optional/></session>`;
    }
    // Module features (XEP-0077 registration before authentication, XEP-0352 CSI after);
    // registration is only offered where a password may be sent.
    if (this.user !== undefined || !this.env.tlsRequired || this.encrypted) s += this.env.streamFeatures?.(this.host!, this.user !== undefined) ?? '';
    // XEP-0478: tell the client the largest stanza we accept and how long we wait.
    s += `<limits xmlns='${NS_STREAM_LIMITS}'><max-bytes>${limits.maxStanzaBytes}</max-bytes>`;
    if (this.user === undefined) s += `<idle-seconds>${Math.round(this.env.limits.preauthTimeoutMs / 1000)}</idle-seconds>`;
    return s + '</limits></stream:features>';
  }

  // ── identity checks ─────────────────────────────────────────────────────────────

  private fromMatchesUser(from: string): boolean {
    const bare = `${this.user}@${this.host}`;
    const lower = from.toLowerCase();
    return lower === bare || lower.startsWith(bare + '/');
  }

  /** RFC 6120 §8.1.2.1: the full or bare JID of this session, compared after normalization. */
  private fromMatchesSession(from: string): boolean {
    const own = this.session!.jid;
    if (from === own.toString()) return true;
    const jid = tryParseJid(from);
    if (jid === undefined || jid.local !== own.local || jid.domain !== own.domain) return false;
    return jid.resource === '' || jid.resource === own.resource;
  }

  /**
   * The current stream ended (STARTTLS proceed, SASL success): the next thing is the
   * client's new header, and anything we say, an error included, starts with a new header
   * of ours (RFC 6120 §4.3.3, §4.9.1.1).
   */
  private restartStream(): void {
    this.phase = 'header';
    this.headerSent = false;
  }

  // ── closing ────────────────────────────────────────────────────────────────────

  private fail(condition: StreamErrorCondition | undefined, text?: string, host?: string, appCondition?: Element): void {
    if (this.phase === 'closed') return;
    if (!this.headerSent) {
      this.streamId ||= randomBytes(12).toString('base64url');
      this.transport.openStream({ id: this.streamId, from: host ?? this.host ?? this.env.defaultHost, lang: 'en' });
      this.headerSent = true;
    }
    if (condition !== undefined) {
      this.env.count('stream_errors', { condition });
      this.env.log.info('c2s_stream_error', { condition, text, remote: this.transport.remoteAddress, jid: this.session?.jid.toString() });
    }
    // A client that stopped answering pings is a lost connection: resumable, like a drop.
    this.shutdown(condition ?? 'closed', condition === 'connection-timeout');
    this.transport.close(condition ? { condition, text, appCondition } : undefined);
  }

  /** `lost`: the connection went away rather than being closed on purpose (XEP-0198 may resume it). */
  private shutdown(reason: string, lost = false): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    clearTimeout(this.preauthTimer);
    this.preauthTimer = undefined;
    this.exchange = undefined;
    this.pending = [];
    const sm = this.sm;
    this.sm = undefined;
    if (this.session) {
      const session = this.session;
      this.session = undefined;
      // With SM the state unbinds (or hibernates) and reroutes what the client never acknowledged.
      if (sm) sm.end(lost, reason);
      else this.env.unbind(session, reason);
    }
  }
}


function iqError(id: string, type: string, overrideType: string | undefined, condition: string, text?: string): string {
  let s = `<iq type='error' id='${escapeAttribute(id)}'><error type='${overrideType ?? type}'><${condition} xmlns='${NS_STANZAS}'/>`;
  if (text) s += `<text xmlns='${NS_STANZAS}' xml:lang='en'>${escapeText(text)}</text>`;
  return s + '</error></iq>';
}
