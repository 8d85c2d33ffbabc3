// The fallback for stanzas a BOSH session could not hand over (XEP-0206 §7, security rule
// 6): with no offline storage to take them, each one goes back to its sender as a
// `service-unavailable` error. Errors, results and presence are never answered with an
// error (rule 5); presence to a gone session is simply no longer relevant.

import { errorReplyFor, StanzaError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Element } from '../xml/element.ts';

export function bounceUndelivered(route: (error: Element) => void, log: Logger): (jid: string | undefined, stanzas: Element[]) => void {
  return (jid, stanzas) => {
    let bounced = 0;
    for (const stanza of stanzas) {
      const type = stanza.attr('type');
      if (stanza.localName === 'presence' || type === 'error' || type === 'result') continue;
      if (stanza.attr('from') === undefined) continue; // from the server itself
      const reply = errorReplyFor(stanza, new StanzaError('service-unavailable'));
      if (reply === undefined) continue;
      route(reply);
      bounced++;
    }
    log.info('bosh_undelivered', { jid, stanzas: stanzas.length, bounced });
  };
}
