// The call table: one entry per call crossing the gateway, keyed by Jingle sid = SIP
// Call-ID. Bounded, and every entry leaves it when its call ends or times out.

import type { Jid } from '../../server/jid.ts';
import type { Element } from '../../server/xml/element.ts';
import type { Dialog } from './sip/dialog.ts';
import type { SipRequest } from './sip/message.ts';
import type { ClientTransaction, ServerTransaction } from './sip/transactions.ts';

interface CallBase {
  readonly sid: string;
  /** The remote (SIP) party as an XMPP address on the gateway domain. */
  readonly gatewayJid: Jid;
  /** The local user's bare JID. */
  readonly user: Jid;
  readonly dialog: Dialog;
  state: 'ringing' | 'active' | 'ending';
  timer: unknown;
}

/** XMPP user → SIP: the user's resource placed the call. */
export interface OutgoingCall extends CallBase {
  readonly direction: 'outgoing';
  /** The resource that sent session-initiate. */
  readonly caller: Jid;
  readonly invite: SipRequest;
  inviteTx: ClientTransaction | undefined;
  gotProvisional: boolean;
  cancelRequested: boolean;
  /** transport-info received before the dialog existed, sent once it does. */
  queuedInfo: string[];
}

/** SIP → XMPP user: the gateway rings every available resource. */
export interface IncomingCall extends CallBase {
  readonly direction: 'incoming';
  readonly inviteTx: ServerTransaction;
  /** The session-initiate payload sent to each resource (and to late joiners). */
  readonly initiate: Element;
  /** Resources that were sent the invitation, by full JID string. */
  readonly invited: Map<string, Jid>;
  /** The resource that accepted. */
  answeredBy: Jid | undefined;
}

export type Call = OutgoingCall | IncomingCall;

export class CallTable {
  private readonly calls = new Map<string, Call>();

  constructor(readonly maxCalls: number) {}

  get size(): number {
    return this.calls.size;
  }

  get full(): boolean {
    return this.calls.size >= this.maxCalls;
  }

  get(sid: string): Call | undefined {
    return this.calls.get(sid);
  }

  add(call: Call): void {
    this.calls.set(call.sid, call);
  }

  remove(call: Call): void {
    if (this.calls.get(call.sid) === call) this.calls.delete(call.sid);
  }

  values(): Call[] {
    return [...this.calls.values()];
  }

  /** Whether `jid` may act on the call: the calling resource, an invited or answering resource. */
  static isParticipant(call: Call, jid: Jid): boolean {
    if (call.direction === 'outgoing') return call.caller.equals(jid);
    if (call.answeredBy !== undefined) return call.answeredBy.equals(jid);
    return call.invited.has(jid.toString());
  }
}
