// The gateway proper: Jingle actions become SIP requests and responses, and back.
//
//   Jingle → SIP (a local user calls +4811@sip.example):
//     session-initiate ─► IQ result at once, INVITE to the proxy (Call-ID = sid)
//     180/183 ─► session-info <ringing/>; 200 ─► ACK + session-accept; 486 ─► terminate <busy/>;
//     603 ─► <decline/>; other 3xx–6xx ─► <general-error/> with the SIP status
//     caller session-terminate ─► CANCEL before the answer, BYE after; transport-info ─► INFO
//   SIP → Jingle (an INVITE for sip:alice@gateway):
//     alice online ─► session-initiate to every available resource + 180; offline ─► 480
//     one resource's session-accept ─► 200 OK, the other resources get terminate <cancel/>
//     a resource's session-terminate before the answer ─► 486; after ─► BYE
//     BYE ─► terminate <success/>; CANCEL ─► terminate <decline/> and 487 for the INVITE
//     existing-session-initiate from another resource of the callee ─► it gets the invitation too
//
// Only a call's participants may act on it (item-not-found otherwise, so a stranger cannot
// even learn that a sid exists). Every call leaves the table when it ends, when its
// transaction times out, when it rings longer than callTimeoutMs, or when the local
// participant's session closes.

import { Jid, tryParseJid } from '../../server/jid.ts';
import { Element, xml } from '../../server/xml/element.ts';
import { StanzaError } from '../../server/errors.ts';
import type { Packet } from '../../server/core/packet.ts';
import type { Logger } from '../../server/log.ts';
import { CallTable, type Call, type IncomingCall, type OutgoingCall } from './calls.ts';
import { Dialog, cancelFor, contactFor, newTag, viaFor, type LocalAddress } from './sip/dialog.ts';
import { isCallId, isUriUser } from './sip/grammar.ts';
import { getHeader, parseCSeq, parseNameAddr, parseUri, responseTo, type SipRequest, type SipResponse } from './sip/message.ts';
import type { SipStack, ServerTransaction } from './sip/transactions.ts';
import type { Peer } from './sip/transport.ts';
import type { TimerApi } from './sip/timers.ts';
import { GatewayInputError, jingleToSdp, transportInfoToSdpFrag } from './sdp/jingle-to-sdp.ts';
import { sdpToJingle } from './sdp/sdp-to-jingle.ts';
import { NS_JINGLE, NS_JINGLE_ERRORS, NS_RTP_INFO, NS_SIP_STATUS } from './sdp/jingle-ns.ts';

/** How the gateway reaches XMPP; the module wires it to the router and session table. */
export interface XmppSide {
  send(stanza: Element): void;
  /** Full JIDs of the user's available resources. */
  availableResources(bare: Jid): Jid[];
}

export interface GatewayOptions {
  host: string;
  gatewayDomain: string;
  proxy: Peer;
  proxyHost: string;
  local: LocalAddress;
  sdpOrigin: string;
  usernameToPhone: Readonly<Record<string, string>>;
  callTimeoutMs: number;
  maxCalls: number;
  timers: TimerApi;
  logger: Logger;
}

const MAX_QUEUED_INFO = 16;

export class Gateway {
  readonly calls: CallTable;
  private readonly phoneToUsername = new Map<string, string>();
  private stack!: SipStack;
  private sessionCounter = Date.now() % 1_000_000_000;

  constructor(private readonly opts: GatewayOptions, private readonly xmpp: XmppSide) {
    this.calls = new CallTable(opts.maxCalls);
    for (const [user, phone] of Object.entries(opts.usernameToPhone)) this.phoneToUsername.set(phone, user);
  }

  attach(stack: SipStack): void {
    this.stack = stack;
  }

  // ---------------------------------------------------------------- XMPP side

  /** A stanza addressed to the gateway domain. */
  handleStanza(packet: Packet): void {
    if (packet.kind !== 'iq') {
      if (packet.kind === 'message') this.replyError(packet.element(), new StanzaError('service-unavailable'));
      return;
    }
    const iq = packet.element();
    if (iq.attrs.type === 'result' || iq.attrs.type === 'error') {
      this.iqAnswer(packet, iq);
      return;
    }
    const jingle = iq.getChild('jingle', NS_JINGLE);
    if (iq.attrs.type !== 'set' || jingle === undefined || iq.elements.length !== 1) {
      this.replyError(iq, new StanzaError('service-unavailable'));
      return;
    }
    let answer: StanzaError | null;
    try {
      answer = this.jingleAction(packet.from, packet.to, jingle);
    } catch (err) {
      if (err instanceof GatewayInputError) answer = new StanzaError('bad-request', { text: err.message });
      else {
        this.opts.logger.warn('jingle_sip_action_failed', { action: jingle.attrs.action, error: err });
        answer = new StanzaError('internal-server-error');
      }
    }
    if (answer === null) this.xmpp.send(xml('iq', { type: 'result', id: iq.attrs.id, from: packet.to.toString(), to: packet.from.toString() }));
    else this.replyError(iq, answer);
  }

  private replyError(stanza: Element, err: StanzaError): void {
    if (stanza.attrs.type === 'error' || stanza.attrs.type === 'result') return;
    const reply = xml(stanza.name, { type: 'error', id: stanza.attrs.id, from: stanza.attrs.to, to: stanza.attrs.from }, err.toElement());
    this.xmpp.send(reply);
  }

  /** An error answer from a resource we invited counts as that resource declining. */
  private iqAnswer(packet: Packet, iq: Element): void {
    if (iq.attrs.type !== 'error') return;
    const sid = iq.getChild('jingle', NS_JINGLE)?.attrs.sid;
    for (const call of this.calls.values()) {
      if (call.direction !== 'incoming' || call.answeredBy !== undefined || call.state !== 'ringing') continue;
      if (sid !== undefined && sid !== call.sid) continue;
      if (!call.invited.delete(packet.from.toString())) continue;
      if (call.invited.size === 0) this.endIncomingUnanswered(call, 480, 'Temporarily Unavailable', undefined);
      return;
    }
  }

  private jingleAction(from: Jid, to: Jid, jingle: Element): StanzaError | null {
    const action = jingle.attrs.action;
    const sid = jingle.attrs.sid;
    if (from.domain !== this.opts.host || from.resource === '') return new StanzaError('forbidden', { text: 'only local users with a resource can use the gateway' });
    if (sid === undefined || !isCallId(sid)) return new StanzaError('bad-request', { text: 'invalid sid' });
    if (action === 'session-initiate') return this.outgoingInitiate(from, to, sid, jingle);
    const call = this.calls.get(sid);
    const unknown = new StanzaError('item-not-found', { appCondition: xml('unknown-session', { xmlns: NS_JINGLE_ERRORS }) });
    if (call === undefined) return unknown;
    if (action === 'existing-session-initiate') return this.existingSessionInitiate(call, from);
    if (!CallTable.isParticipant(call, from) || !call.gatewayJid.equals(to.bare())) return unknown;
    // A call being wound down accepts nothing more (a second terminate is already done).
    if (call.state === 'ending') return action === 'session-terminate' ? null : unknown;
    switch (action) {
      case 'session-terminate':
        this.localTerminate(call, from);
        return null;
      case 'session-accept':
        return this.incomingAccept(call, from, jingle);
      case 'transport-info':
        return this.transportInfo(call, jingle);
      case 'session-info':
        return null;
      default:
        return new StanzaError('feature-not-implemented', { appCondition: xml('unsupported-info', { xmlns: NS_JINGLE_ERRORS }) });
    }
  }

  private phoneOf(user: string): string {
    return this.opts.usernameToPhone[user] ?? user;
  }

  private outgoingInitiate(from: Jid, to: Jid, sid: string, jingle: Element): StanzaError | null {
    if (this.calls.get(sid) !== undefined) return new StanzaError('conflict', { text: 'sid in use' });
    if (this.calls.full) return new StanzaError('resource-constraint', { text: 'too many calls' });
    const callee = to.local;
    if (!isUriUser(callee)) return new StanzaError('bad-request', { text: 'callee is not a valid SIP user' });
    const callerUser = this.phoneOf(from.local);
    if (!isUriUser(callerUser)) return new StanzaError('bad-request', { text: 'caller has no valid SIP user' });
    const sdp = jingleToSdp(jingle, this.sdpOptions(true));
    const { local, proxy, proxyHost } = this.opts;
    const tag = newTag();
    const localParty = `<sip:${callerUser}@${local.host}>;tag=${tag}`;
    const remoteParty = `<sip:${callee}@${proxyHost}>`;
    const uri = `sip:${callee}@${proxyHost}:${proxy.port}`;
    const dialog = new Dialog(sid, tag, localParty, remoteParty, uri, proxy, local, callerUser);
    const invite: SipRequest = {
      kind: 'request',
      method: 'INVITE',
      uri,
      headers: [
        viaFor(local),
        { name: 'max-forwards', value: '70' },
        { name: 'from', value: localParty },
        { name: 'to', value: remoteParty },
        { name: 'call-id', value: sid },
        { name: 'cseq', value: '1 INVITE' },
        contactFor(callerUser, local),
        { name: 'content-type', value: 'application/sdp' },
      ],
      body: sdp,
    };
    const call: OutgoingCall = {
      direction: 'outgoing', sid, gatewayJid: to.bare(), user: from.bare(), caller: from, dialog, invite, state: 'ringing',
      inviteTx: undefined, gotProvisional: false, cancelRequested: false, queuedInfo: [], timer: undefined,
    };
    this.calls.add(call);
    call.timer = this.opts.timers.set(() => this.outgoingTimeout(call), this.opts.callTimeoutMs);
    // The IQ result goes first: the caller learns the call is placed before any SIP answer.
    queueMicrotask(() => this.sendInvite(call));
    return null;
  }

  private sendInvite(call: OutgoingCall): void {
    if (this.calls.get(call.sid) !== call) return;
    call.inviteTx = this.stack.request(call.invite, call.dialog.peer, {
      provisional: (res) => this.outgoingProvisional(call, res),
      final: (res) => this.outgoingFinal(call, res),
      timeout: () => this.endOutgoing(call, reason('timeout'), 'sip_timeout'),
    });
    if (call.inviteTx === undefined) this.endOutgoing(call, reason('general-error'), 'sip_overloaded');
  }

  private outgoingProvisional(call: OutgoingCall, res: SipResponse): void {
    if (res.status === 100) return;
    call.gotProvisional = true;
    if (call.cancelRequested) {
      this.sendCancel(call);
      return;
    }
    if (res.status === 180 || res.status === 183) {
      this.toUser(call, call.caller, jingleEl('session-info', call, xml('ringing', { xmlns: NS_RTP_INFO })));
    }
  }

  private outgoingFinal(call: OutgoingCall, res: SipResponse): void {
    const cseq = parseCSeq(getHeader(res, 'cseq')!)!.seq;
    if (res.status >= 300) {
      if (this.calls.get(call.sid) !== call) return;
      const r = res.status === 486 || res.status === 600 ? reason('busy')
        : res.status === 603 ? reason('decline')
        : res.status === 487 && call.cancelRequested ? reason('cancel')
        : reason('general-error', `${res.status} ${res.reason}`, sipStatus(res.status));
      this.endOutgoing(call, call.cancelRequested ? undefined : r, 'sip_rejected');
      return;
    }
    // A 2xx: answer every copy with an ACK (retransmissions included, RFC 3261 §13.2.2.4).
    if (call.dialog.remoteTag === undefined) call.dialog.learnRemote(getHeader(res, 'to'), getHeader(res, 'contact'));
    this.stack.sendStateless(call.dialog.ack(cseq), call.dialog.peer);
    if (this.calls.get(call.sid) !== call) return;
    if (call.cancelRequested) {
      // The caller hung up while the answer was on its way: end the dialog the 2xx created.
      this.sendBye(call);
      call.state = 'active';
      this.opts.timers.clear(call.timer);
      this.calls.remove(call);
      return;
    }
    if (call.state !== 'ringing') return;
    let contents: Element[];
    try {
      contents = sdpToJingle(res.body, false);
    } catch (err) {
      this.sendBye(call);
      this.endOutgoing(call, reason('failed-application', err instanceof Error ? err.message : undefined), 'bad_sdp_answer');
      return;
    }
    call.state = 'active';
    this.opts.timers.clear(call.timer);
    this.toUser(call, call.caller, jingleEl('session-accept', call, contents, { responder: call.gatewayJid.toString() }));
    for (const body of call.queuedInfo.splice(0)) this.sendInfo(call, body);
  }

  private outgoingTimeout(call: OutgoingCall): void {
    if (this.calls.get(call.sid) !== call || call.state !== 'ringing') return;
    call.cancelRequested = true;
    if (call.gotProvisional) this.sendCancel(call);
    this.endOutgoing(call, reason('timeout'), 'call_timeout');
  }

  private sendCancel(call: OutgoingCall): void {
    this.stack.request(cancelFor(call.invite), call.dialog.peer, { final: () => {}, timeout: () => {} });
  }

  private sendBye(call: Call): void {
    this.stack.request(call.dialog.request('BYE'), call.dialog.peer, { final: () => {}, timeout: () => {} });
  }

  private sendInfo(call: Call, body: string): void {
    const req = call.dialog.request('INFO', body, 'application/trickle-ice-sdpfrag');
    req.headers.push({ name: 'info-package', value: 'trickle-ice' });
    this.stack.request(req, call.dialog.peer, { final: () => {}, timeout: () => {} });
  }

  private transportInfo(call: Call, jingle: Element): StanzaError | null {
    const body = transportInfoToSdpFrag(jingle);
    if (call.dialog.established) this.sendInfo(call, body);
    else if (call.direction === 'outgoing' && call.queuedInfo.length < MAX_QUEUED_INFO) call.queuedInfo.push(body);
    return null;
  }

  /** The local participant ended the call (or left). */
  private localTerminate(call: Call, by: Jid): void {
    if (call.direction === 'outgoing') {
      if (call.state === 'active') {
        this.sendBye(call);
        this.endOutgoing(call, undefined, 'local_hangup');
        return;
      }
      call.cancelRequested = true;
      if (call.gotProvisional) this.sendCancel(call);
      // Without a provisional response yet, the CANCEL waits for one (RFC 3261 §9.1);
      // the call stays until the INVITE transaction ends so a late 2xx is still answered.
      this.endOutgoing(call, undefined, 'local_cancel', true);
      return;
    }
    if (call.answeredBy !== undefined) {
      this.sendBye(call);
      this.endIncoming(call, undefined, by, 'local_hangup');
      return;
    }
    this.endIncomingUnanswered(call, 486, 'Busy Here', by);
  }

  private existingSessionInitiate(call: Call, from: Jid): StanzaError | null {
    const unknown = new StanzaError('item-not-found', { appCondition: xml('unknown-session', { xmlns: NS_JINGLE_ERRORS }) });
    if (call.direction !== 'incoming' || !call.user.equals(from.bare()) || call.state !== 'ringing') return unknown;
    const key = from.toString();
    if (!call.invited.has(key)) call.invited.set(key, from);
    const initiate = call.initiate.clone();
    queueMicrotask(() => this.toUser(call, from, initiate));
    return null;
  }

  private incomingAccept(call: Call, from: Jid, jingle: Element): StanzaError | null {
    if (call.direction !== 'incoming' || call.state !== 'ringing') return new StanzaError('unexpected-request', { appCondition: xml('out-of-order', { xmlns: NS_JINGLE_ERRORS }) });
    const sdp = jingleToSdp(jingle, this.sdpOptions(false));
    call.answeredBy = from;
    call.state = 'active';
    this.opts.timers.clear(call.timer);
    const ok = this.responseFor(call, 200, 'OK');
    ok.headers.push(contactFor(call.dialog.localUser, this.opts.local), { name: 'content-type', value: 'application/sdp' });
    ok.body = sdp;
    call.inviteTx.onAckTimeout = () => {
      if (this.calls.get(call.sid) !== call) return;
      this.sendBye(call);
      this.endIncoming(call, reason('connectivity-error'), undefined, 'no_ack');
    };
    call.inviteTx.respond(ok);
    for (const other of call.invited.values()) {
      if (!other.equals(from)) this.toUser(call, other, jingleEl('session-terminate', call, reason('cancel')));
    }
    return null;
  }

  private sdpOptions(writerIsInitiator: boolean): Parameters<typeof jingleToSdp>[1] {
    this.sessionCounter++;
    return { origin: '-', originAddress: this.opts.sdpOrigin, sessionId: this.sessionCounter, sessionVersion: 1, writerIsInitiator };
  }

  /** A local participant's session closed: its calls end as if it had hung up. */
  sessionClosed(jid: Jid): void {
    for (const call of this.calls.values()) {
      if (call.direction === 'outgoing' && call.caller.equals(jid)) this.localTerminate(call, jid);
      else if (call.direction === 'incoming') {
        if (call.answeredBy?.equals(jid)) this.localTerminate(call, jid);
        else if (call.answeredBy === undefined && call.invited.delete(jid.toString()) && call.invited.size === 0) {
          this.endIncomingUnanswered(call, 480, 'Temporarily Unavailable', undefined);
        }
      }
    }
  }

  // ---------------------------------------------------------------- SIP side

  handleSipRequest(req: SipRequest, tx: ServerTransaction | undefined, peer: Peer): void {
    if (req.method === 'ACK') return; // the transaction layer matched it already
    if (!tx) return;
    const callId = getHeader(req, 'call-id')!;
    const toTag = parseNameAddr(getHeader(req, 'to')!)?.params.get('tag');
    switch (req.method) {
      case 'INVITE':
        if (toTag !== undefined) {
          // Re-INVITEs (hold, codec changes) are not translated yet.
          tx.respond(responseTo(req, this.calls.get(callId) ? 488 : 481, this.calls.get(callId) ? 'Not Acceptable Here' : 'Call/Transaction Does Not Exist'));
          return;
        }
        this.incomingInvite(req, tx, peer);
        return;
      case 'CANCEL':
        this.incomingCancel(req, tx);
        return;
      case 'BYE':
        this.incomingBye(req, tx);
        return;
      case 'OPTIONS':
        tx.respond(withAllow(responseTo(req, 200, 'OK', newTag())));
        return;
      case 'INFO': {
        const call = this.calls.get(callId);
        tx.respond(responseTo(req, call && this.inDialog(call, req) ? 200 : 481, call ? 'OK' : 'Call/Transaction Does Not Exist'));
        return;
      }
      default:
        tx.respond(withAllow(responseTo(req, 405, 'Method Not Allowed', newTag())));
    }
  }

  private inDialog(call: Call, req: SipRequest): boolean {
    const fromTag = parseNameAddr(getHeader(req, 'from')!)?.params.get('tag');
    const toTag = parseNameAddr(getHeader(req, 'to')!)?.params.get('tag');
    return fromTag === call.dialog.remoteTag && toTag === call.dialog.localTag;
  }

  private incomingInvite(req: SipRequest, tx: ServerTransaction, peer: Peer): void {
    const callId = getHeader(req, 'call-id')!;
    if (this.calls.get(callId) !== undefined) {
      tx.respond(responseTo(req, 482, 'Loop Detected', newTag()));
      return;
    }
    if (this.calls.full) {
      tx.respond(responseTo(req, 503, 'Service Unavailable', newTag()));
      return;
    }
    const target = parseUri(req.uri);
    const calleeUser = target?.user === undefined ? undefined : (this.phoneToUsername.get(target.user) ?? target.user);
    const callee = calleeUser === undefined ? undefined : tryParseJid(`${calleeUser}@${this.opts.host}`);
    if (callee === undefined || callee.local === '' || callee.resource !== '') {
      tx.respond(responseTo(req, 404, 'Not Found', newTag()));
      return;
    }
    const fromHeader = getHeader(req, 'from')!;
    const from = parseNameAddr(fromHeader)!;
    const callerUser = parseUri(from.uri)?.user ?? /^tel:([^;]+)/i.exec(from.uri)?.[1];
    const gatewayJid = callerUser === undefined ? undefined : tryParseJid(`${callerUser}@${this.opts.gatewayDomain}`);
    if (gatewayJid === undefined || gatewayJid.resource !== '' || !isCallId(callId)) {
      tx.respond(responseTo(req, 400, 'Bad Request', newTag()));
      return;
    }
    const resources = this.xmpp.availableResources(callee);
    if (resources.length === 0) {
      tx.respond(responseTo(req, 480, 'Temporarily Unavailable', newTag()));
      return;
    }
    let contents: Element[];
    try {
      contents = sdpToJingle(req.body, true);
    } catch {
      tx.respond(responseTo(req, 488, 'Not Acceptable Here', newTag()));
      return;
    }
    tx.respond(responseTo(req, 100, 'Trying'));
    const tag = newTag();
    const toValue = `${getHeader(req, 'to')!};tag=${tag}`;
    const dialog = new Dialog(callId, tag, toValue, fromHeader, from.uri, peer, this.opts.local, this.phoneOf(callee.local), 0);
    dialog.learnRemote(fromHeader, getHeader(req, 'contact'));
    const call: IncomingCall = {
      direction: 'incoming', sid: callId, gatewayJid, user: callee, dialog, inviteTx: tx, state: 'ringing', timer: undefined,
      initiate: xml('jingle', { xmlns: NS_JINGLE, action: 'session-initiate', sid: callId, initiator: gatewayJid.toString() }, contents),
      invited: new Map(resources.map((r) => [r.toString(), r])), answeredBy: undefined,
    };
    this.calls.add(call);
    call.timer = this.opts.timers.set(() => {
      if (this.calls.get(call.sid) === call && call.state === 'ringing') this.endIncomingUnanswered(call, 480, 'Temporarily Unavailable', undefined, 'timeout');
    }, this.opts.callTimeoutMs);
    for (const r of resources) this.toUser(call, r, call.initiate.clone());
    tx.respond(this.responseFor(call, 180, 'Ringing'));
  }

  private responseFor(call: IncomingCall, status: number, reasonText: string): SipResponse {
    return responseTo(call.inviteTx.request, status, reasonText, call.dialog.localTag);
  }

  private incomingCancel(req: SipRequest, tx: ServerTransaction): void {
    const inviteTx = this.stack.inviteFor(req);
    const call = this.calls.get(getHeader(req, 'call-id')!);
    if (!inviteTx || !call || call.direction !== 'incoming' || call.inviteTx !== inviteTx) {
      tx.respond(responseTo(req, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    tx.respond(responseTo(req, 200, 'OK', call.dialog.localTag));
    if (call.state !== 'ringing') return; // already answered: the BYE will end it
    this.endIncomingUnanswered(call, 487, 'Request Terminated', undefined, 'decline');
  }

  private incomingBye(req: SipRequest, tx: ServerTransaction): void {
    const call = this.calls.get(getHeader(req, 'call-id')!);
    if (!call || !this.inDialog(call, req)) {
      tx.respond(responseTo(req, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    tx.respond(responseTo(req, 200, 'OK'));
    if (call.direction === 'outgoing') this.endOutgoing(call, reason('success'), 'remote_hangup');
    else this.endIncoming(call, reason('success'), undefined, 'remote_hangup');
  }

  // ---------------------------------------------------------------- endings

  /** Ends an outgoing call; `why` undefined means the caller itself ended it (nothing to tell). */
  private endOutgoing(call: OutgoingCall, why: Element | undefined, event: string, keepForLateAnswer = false): void {
    if (this.calls.get(call.sid) !== call) return;
    this.opts.timers.clear(call.timer);
    if (why !== undefined) this.toUser(call, call.caller, jingleEl('session-terminate', call, why));
    this.opts.logger.info('jingle_sip_call_ended', { sid: call.sid, direction: 'outgoing', event });
    if (keepForLateAnswer && call.inviteTx !== undefined && call.inviteTx.state !== 'terminated') {
      call.state = 'ending';
      // A last bound: the entry goes when the INVITE transaction could no longer complete.
      call.timer = this.opts.timers.set(() => this.calls.remove(call), 64 * this.stack.values.T1 + 1000);
      call.inviteTx.onTerminated = () => {
        this.opts.timers.clear(call.timer);
        this.calls.remove(call);
      };
      return;
    }
    this.calls.remove(call);
  }

  private endIncomingUnanswered(call: IncomingCall, status: number, reasonText: string, by: Jid | undefined, jingleReason = 'cancel'): void {
    if (this.calls.get(call.sid) !== call) return;
    call.inviteTx.respond(this.responseFor(call, status, reasonText));
    for (const r of call.invited.values()) {
      if (by === undefined || !r.equals(by)) this.toUser(call, r, jingleEl('session-terminate', call, reason(jingleReason)));
    }
    this.opts.timers.clear(call.timer);
    this.calls.remove(call);
    this.opts.logger.info('jingle_sip_call_ended', { sid: call.sid, direction: 'incoming', event: `sip_${status}` });
  }

  private endIncoming(call: IncomingCall, why: Element | undefined, by: Jid | undefined, event: string): void {
    if (this.calls.get(call.sid) !== call) return;
    if (why !== undefined && call.answeredBy !== undefined && (by === undefined || !call.answeredBy.equals(by))) {
      this.toUser(call, call.answeredBy, jingleEl('session-terminate', call, why));
    }
    this.opts.timers.clear(call.timer);
    this.calls.remove(call);
    this.opts.logger.info('jingle_sip_call_ended', { sid: call.sid, direction: 'incoming', event });
  }

  private toUser(call: Call, to: Jid, jingle: Element): void {
    this.xmpp.send(xml('iq', { type: 'set', id: `sip-${newTag()}`, from: call.gatewayJid.toString(), to: to.toString() }, jingle));
  }

  close(): void {
    for (const call of this.calls.values()) {
      if (call.state === 'active') this.sendBye(call);
      else if (call.direction === 'outgoing' && call.gotProvisional) this.sendCancel(call);
      else if (call.direction === 'incoming' && call.state === 'ringing') call.inviteTx.respond(this.responseFor(call, 480, 'Temporarily Unavailable'));
      this.opts.timers.clear(call.timer);
      this.calls.remove(call);
    }
  }
}

function jingleEl(action: string, call: Call, children: Element | Element[], extra: Record<string, string> = {}): Element {
  return xml('jingle', { xmlns: NS_JINGLE, action, sid: call.sid, ...extra }, children);
}

/** A Jingle <reason/> (XEP-0166 §7.4), with text and an extra element when given. */
export function reason(condition: string, text?: string, extra?: Element): Element {
  return xml('reason', {}, xml(condition), text === undefined ? undefined : xml('text', {}, text), extra);
}

function sipStatus(status: number): Element {
  return xml('sip-error', { xmlns: NS_SIP_STATUS, code: status });
}

function withAllow(res: SipResponse): SipResponse {
  res.headers.push({ name: 'allow', value: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO' });
  return res;
}

export { Jid };
