// SIP dialogs (RFC 3261 §12) as the gateway needs them: the identifiers, the CSeq counter,
// the remote target, and builders for the requests sent within a dialog (ACK, BYE, INFO)
// and for the CANCEL of an INVITE (§9.1).

import { randomBytes } from 'node:crypto';
import type { Peer } from './transport.ts';
import { getHeader, parseNameAddr, type SipHeader, type SipRequest } from './message.ts';

export function newTag(): string {
  return randomBytes(8).toString('hex');
}

export function newBranch(): string {
  return 'z9hG4bK' + randomBytes(10).toString('hex');
}

export interface LocalAddress {
  /** Host written in Via and Contact. */
  host: string;
  port: number;
  /** "UDP" or "TCP". */
  transport: string;
}

export function viaFor(local: LocalAddress, branch = newBranch()): SipHeader {
  return { name: 'via', value: `SIP/2.0/${local.transport} ${local.host}:${local.port};branch=${branch};rport` };
}

export function contactFor(user: string, local: LocalAddress): SipHeader {
  return { name: 'contact', value: `<sip:${user}@${local.host}:${local.port};transport=${local.transport.toLowerCase()}>` };
}

export class Dialog {
  /** Our From (UAC) or To (UAS) header value, with our tag. */
  localParty: string;
  /** The peer's header value, with its tag once known. */
  remoteParty: string;
  remoteTag: string | undefined;
  /** Where in-dialog requests go: the peer's Contact, else the Request-URI used. */
  remoteTarget: string;
  private cseq: number;

  constructor(
    readonly callId: string,
    readonly localTag: string,
    localParty: string,
    remoteParty: string,
    remoteTarget: string,
    readonly peer: Peer,
    readonly local: LocalAddress,
    readonly localUser: string,
    firstCSeq = 1,
  ) {
    this.localParty = localParty;
    this.remoteParty = remoteParty;
    this.remoteTarget = remoteTarget;
    this.cseq = firstCSeq;
  }

  get established(): boolean {
    return this.remoteTag !== undefined;
  }

  /** Takes the peer's tag and Contact from a response (UAC) or a request (UAS). */
  learnRemote(partyHeader: string | undefined, contactHeader: string | undefined): void {
    if (partyHeader !== undefined) {
      const tag = parseNameAddr(partyHeader)?.params.get('tag');
      if (tag !== undefined) {
        this.remoteTag = tag;
        this.remoteParty = partyHeader;
      }
    }
    const contact = contactHeader === undefined ? undefined : parseNameAddr(contactHeader.split(',')[0]!);
    if (contact && /^sips?:/i.test(contact.uri)) this.remoteTarget = contact.uri;
  }

  nextCSeq(): number {
    return ++this.cseq;
  }

  /** A new in-dialog request (BYE, INFO) with its own CSeq. */
  request(method: string, body = '', contentType?: string): SipRequest {
    const headers: SipHeader[] = [
      viaFor(this.local),
      { name: 'max-forwards', value: '70' },
      { name: 'from', value: this.localParty },
      { name: 'to', value: this.remoteParty },
      { name: 'call-id', value: this.callId },
      { name: 'cseq', value: `${this.nextCSeq()} ${method}` },
      contactFor(this.localUser, this.local),
    ];
    if (contentType !== undefined) headers.push({ name: 'content-type', value: contentType });
    return { kind: 'request', method, uri: this.remoteTarget, headers, body };
  }

  /** The ACK for a 2xx to our INVITE (a new transaction, same CSeq number: §13.2.2.4). */
  ack(inviteCSeq: number): SipRequest {
    return {
      kind: 'request',
      method: 'ACK',
      uri: this.remoteTarget,
      headers: [
        viaFor(this.local),
        { name: 'max-forwards', value: '70' },
        { name: 'from', value: this.localParty },
        { name: 'to', value: this.remoteParty },
        { name: 'call-id', value: this.callId },
        { name: 'cseq', value: `${inviteCSeq} ACK` },
      ],
      body: '',
    };
  }
}

/** CANCEL for a pending INVITE: same Request-URI, Call-ID, From, To, top Via and CSeq number (§9.1). */
export function cancelFor(invite: SipRequest): SipRequest {
  const headers: SipHeader[] = [];
  const via = invite.headers.find((h) => h.name === 'via');
  if (via) headers.push(via);
  headers.push({ name: 'max-forwards', value: '70' });
  for (const h of invite.headers) if (h.name === 'from' || h.name === 'to' || h.name === 'call-id' || h.name === 'route') headers.push(h);
  const seq = (getHeader(invite, 'cseq') ?? '1').split(/\s+/)[0];
  headers.push({ name: 'cseq', value: `${seq} CANCEL` });
  return { kind: 'request', method: 'CANCEL', uri: invite.uri, headers, body: '' };
}
