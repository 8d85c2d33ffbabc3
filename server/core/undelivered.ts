// What happens to stanzas a session accepted for a client but could not hand over (a BOSH
// session that ended with stanzas queued, stream management buffers of a session that
// died): security rule 6 — nothing accepted is dropped silently.
//
// A message is routed again to the user's bare JID: another available resource gets it,
// else the offline_message hook stores it, else the sender gets service-unavailable — the
// router's ordinary RFC 6121 rules, so every path ends delivered, stored or bounced.
// An IQ request is answered service-unavailable (its requester is waiting). Presence is
// dropped: it describes a state that no longer exists. Errors and results are never
// answered (rule 5).

import type { Router } from './router.ts';
import { Packet } from './packet.ts';
import { StanzaError } from '../errors.ts';
import { makeJid, tryParseJid, type Jid } from '../jid.ts';
import type { Element } from '../xml/element.ts';

/** `core` needs only its router (a module passes ctx). The stanza must carry its 'from'/'to' attributes as written. */
export function rerouteUndelivered(core: { readonly router: Router }, owner: Jid, stanza: Element): 'rerouted' | 'bounced' | 'dropped' {
  const type = stanza.attr('type');
  const name = stanza.localName;
  const fromAttr = stanza.attr('from');
  // No 'from': the server itself sent it.
  const fromJid = fromAttr === undefined ? makeJid('', owner.domain) : tryParseJid(fromAttr);
  if (fromJid === undefined) return 'dropped';
  if (name === 'message') {
    if (type === 'error' || type === 'groupchat' || type === 'headline') return 'dropped';
    const packet = Packet.fromElement(stanza, fromJid, owner.bare());
    packet.redelivery = true;
    core.router.route(packet);
    return 'rerouted';
  }
  if (name === 'iq' && (type === 'get' || type === 'set')) {
    const packet = Packet.fromElement(stanza, fromJid, owner);
    core.router.bounce(packet, new StanzaError('service-unavailable'));
    return 'bounced';
  }
  return 'dropped';
}
