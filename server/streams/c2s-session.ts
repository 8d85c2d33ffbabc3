// The session manager's view of a bound client stream: its JID and presence state, and
// send(), which writes a routed packet through the stream's transport. Writing happens
// synchronously so a forwarded stanza's original bytes (a view into the sender's
// tokenizer memory) are copied out before the router returns.

import type { Jid } from '../jid.ts';
import type { Packet } from '../core/packet.ts';
import type { Session } from '../core/sessions.ts';
import type { StreamError } from '../errors.ts';
import type { SessionOwner } from './c2s-env.ts';

export class C2sSession implements Session {
  priority = 0;
  available = false;
  interested = false;
  /** When the session was bound (for admin listings and metrics). */
  readonly since = Date.now();

  constructor(
    readonly jid: Jid,
    private owner: SessionOwner,
    readonly transport: string,
  ) {}

  /** The connection is gone and stream management keeps the session for a resume. */
  get hibernated(): boolean {
    return this.owner.hibernating === true;
  }

  attach(owner: SessionOwner): void {
    this.owner = owner;
  }

  send(packet: Packet): void {
    this.owner.deliver(packet.bytesFor({ from: packet.from, to: packet.to }));
  }

  close(error?: StreamError): void {
    this.owner.closeWith(error?.condition ?? 'reset', error?.text);
  }
}
