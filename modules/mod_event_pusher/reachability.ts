// Whether a user can see a message now, for deciding on a push.
//
// A session counts as reachable when it is available and neither
//   - CSI-inactive (XEP-0352): watched here on c2s_stream_element before mod_csi handles it,
//     so this module does not depend on mod_csi's internals; nor
//   - hibernated by stream management (XEP-0198): the stream is gone and the session waits
//     for resumption. `Session.hibernated` says so (the c2s session asks its owner, which is
//     stream management's stand-in while the connection is away); the session stays in the
//     table, so the router still delivers to it and user_receive_packet still runs.

import { NS_CSI } from '../../server/ns.ts';
import type { Session } from '../../server/core/sessions.ts';
import type { Element } from '../../server/xml/element.ts';

export function isHibernated(session: Session): boolean {
  return session.hibernated === true;
}

export class Reachability {
  private readonly inactive = new WeakSet<Session>();

  /** Follows <inactive/>/<active/>; never handles the element (mod_csi or the stream does). */
  observe(session: Session, element: Element): void {
    if (element.ns !== NS_CSI) return;
    if (element.localName === 'inactive') this.inactive.add(session);
    else if (element.localName === 'active') this.inactive.delete(session);
  }

  forget(session: Session): void {
    this.inactive.delete(session);
  }

  isInactive(session: Session): boolean {
    return this.inactive.has(session);
  }

  reachable(session: Session): boolean {
    return session.available && !this.inactive.has(session) && !isHibernated(session);
  }
}
