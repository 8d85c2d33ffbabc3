// Roster items as XML (RFC 6121 §2.1.2) and the checks a roster set must pass (§2.3.3).

import { Element } from '../../server/xml/element.ts';
import { StanzaError } from '../../server/errors.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { NS_ROSTER } from '../../server/ns.ts';
import type { RosterItem } from '../../server/storage/roster.ts';

export interface ItemLimits {
  /** Longest item name, in characters (§2.3.3: not-acceptable above it). */
  maxNameLength: number;
  /** Longest group name, in characters. */
  maxGroupLength: number;
  /** Most groups on one item. */
  maxGroups: number;
}

/** A roster set as the client asked for it. */
export type RosterSet =
  | { kind: 'update'; jid: Jid; name: string | undefined; groups: string[] }
  | { kind: 'remove'; jid: Jid };

export function itemElement(item: RosterItem): Element {
  const el = new Element('item', { jid: item.jid, name: item.name, subscription: item.subscription });
  if (item.ask) el.attrs.ask = 'subscribe';
  if (item.approved) el.attrs.approved = 'true';
  for (const g of item.groups) el.c('group').t(g);
  return el;
}

/** The <item subscription='remove'/> of a push after a removal. */
export function removedItemElement(jid: string): Element {
  return new Element('item', { jid, subscription: 'remove' });
}

export function queryElement(items: Element[], ver: string | undefined): Element {
  const q = new Element('query', { xmlns: NS_ROSTER, ver });
  for (const i of items) q.append(i);
  return q;
}

/** Reads and checks a roster set's <query/>; a StanzaError says which §2.3.3 rule it broke. */
export function parseRosterSet(query: Element, owner: Jid, limits: ItemLimits): RosterSet | StanzaError {
  const items = query.elements;
  if (items.length !== 1 || !items[0].is('item', NS_ROSTER)) {
    return new StanzaError('bad-request', { text: 'a roster set carries exactly one item' });
  }
  const item = items[0];
  const jidAttr = item.attrs.jid;
  const jid = jidAttr === undefined ? undefined : tryParseJid(jidAttr);
  if (jid === undefined) return new StanzaError('bad-request', { text: 'the item needs a valid jid' });
  // Rosters hold accounts and services, never one resource of them.
  if (!jid.isBare) return new StanzaError('bad-request', { text: 'roster items are bare JIDs' });
  if (jid.equals(owner.bare())) return new StanzaError('not-allowed', { text: 'cannot add yourself to your roster' });
  const subscription = item.attrs.subscription;
  if (subscription === 'remove') return { kind: 'remove', jid };
  if (subscription !== undefined) {
    return new StanzaError('bad-request', { text: "only subscription='remove' may be set by a client" });
  }
  const name = item.attrs.name;
  if (name !== undefined && [...name].length > limits.maxNameLength) {
    return new StanzaError('not-acceptable', { text: 'the item name is too long' });
  }
  const groups: string[] = [];
  const seen = new Set<string>();
  for (const g of item.getChildren('group', NS_ROSTER)) {
    const text = g.text;
    if (text === '') return new StanzaError('not-acceptable', { text: 'a group name cannot be empty' });
    if ([...text].length > limits.maxGroupLength) return new StanzaError('not-acceptable', { text: 'a group name is too long' });
    if (seen.has(text)) return new StanzaError('bad-request', { text: 'the same group is listed twice' });
    seen.add(text);
    groups.push(text);
  }
  if (groups.length > limits.maxGroups) return new StanzaError('not-acceptable', { text: 'too many groups' });
  return { kind: 'update', jid, name: name === '' ? undefined : name, groups };
}
