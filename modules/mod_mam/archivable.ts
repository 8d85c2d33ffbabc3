// Which messages go into the archive, and the stanza-id rules of XEP-0359.

import { NS_CARBONS, NS_FORWARD, NS_HINTS, NS_MAM, NS_STANZA_ID } from '../../server/ns.ts';
import type { Element } from '../../server/xml/element.ts';

/**
 * Whether a message is archived (XEP-0313 §8, XEP-0334): chat and normal messages with a
 * <body/>, with a <store/> hint, or with a child in one of `extraNamespaces`; never errors,
 * groupchat or headlines, nothing with <no-store/> or <no-permanent-store/>, and never
 * carbons, forwarded copies or archive results (they are copies of something archived
 * where it was first routed).
 */
export function isArchivable(message: Element, extraNamespaces: ReadonlySet<string>): boolean {
  const type = message.attrs.type ?? 'normal';
  if (type !== 'chat' && type !== 'normal') return false;
  let wanted = false;
  for (const child of message.elements) {
    const ns = child.ns;
    if (ns === NS_HINTS) {
      if (child.localName === 'no-store' || child.localName === 'no-permanent-store') return false;
      if (child.localName === 'store') wanted = true;
      continue;
    }
    if (ns === NS_CARBONS || ns === NS_FORWARD || (ns === NS_MAM && child.localName === 'result')) return false;
    if (child.localName === 'body' || extraNamespaces.has(ns)) wanted = true;
  }
  return wanted;
}

/** The <stanza-id/> children whose 'by' is `owner` (a bare JID string). */
export function stanzaIdsBy(message: Element, owner: string): Element[] {
  return message.elements.filter((c) => c.localName === 'stanza-id' && c.ns === NS_STANZA_ID && c.attrs.by === owner);
}
