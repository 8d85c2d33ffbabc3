// jabber:iq:roster get and set (RFC 6121 §2) with roster versioning (XEP-0237).
//
// Versioning: the version is a per-user counter bumped by every change. A get whose 'ver'
// equals the current version is answered with an empty result (the client's copy is current);
// any other 'ver' gets the whole roster. Sending the whole roster instead of the pushes
// missed since an old version is allowed by XEP-0237 §2.4 and needs no change log.

import { StanzaError } from '../../server/errors.ts';
import type { IqAnswer, IqRequest } from '../../server/core/iq.ts';
import type { Element } from '../../server/xml/element.ts';
import type { HostRoster } from './host-roster.ts';
import { itemElement, parseRosterSet, queryElement } from './items.ts';
import type { Subscriptions } from './subscriptions.ts';

export function rosterIqHandler(r: HostRoster, subs: Subscriptions): (req: IqRequest) => Promise<IqAnswer> | IqAnswer {
  return (req) => {
    // §2.1.5: a roster is read and written only by its owner.
    if (!req.to.bare().equals(req.from.bare())) return new StanzaError('forbidden', { text: 'only your own roster' });
    const user = req.from.bare();
    return new Promise<IqAnswer>((resolve) => {
      const task = req.type === 'get' ? () => get(r, req) : () => set(r, subs, req);
      const queued = r.run(user, 'roster_iq', () => task().then(resolve, (err: unknown) => {
        r.ctx.logger.warn('roster_iq_failed', { error: err });
        resolve(new StanzaError('internal-server-error'));
      }));
      if (!queued) resolve(new StanzaError('resource-constraint', { text: 'too many requests waiting' }));
    });
  };
}

async function get(r: HostRoster, req: IqRequest): Promise<IqAnswer> {
  const session = r.ctx.sessions.get(req.from);
  if (session !== undefined) session.interested = true; // §2.1.6: pushes go to resources that fetched the roster
  const user = req.from.bare();
  const { items, version } = await r.store.get(r.host, user.local);
  const clientVer = req.payload.attrs.ver;
  const versioned = r.opts.versioning && clientVer !== undefined;
  if (versioned && clientVer === String(version)) return null;
  const elements: Element[] = items.map(itemElement);
  await r.ctx.hooks.runAsync('roster_get', r.host, { jid: user, items: elements });
  return queryElement(elements, versioned ? String(version) : undefined);
}

async function set(r: HostRoster, subs: Subscriptions, req: IqRequest): Promise<IqAnswer> {
  const user = req.from.bare();
  const parsed = parseRosterSet(req.payload, user, {
    maxNameLength: r.opts.max_name_length,
    maxGroupLength: r.opts.max_group_length,
    maxGroups: r.opts.max_groups,
  });
  if (parsed instanceof StanzaError) return parsed;
  const contact = parsed.jid.toString();
  if (parsed.kind === 'remove') {
    // §2.5.3: removing an item that is not there is item-not-found.
    const removed = await subs.removeItem(user, parsed.jid, undefined);
    return removed ? null : new StanzaError('item-not-found');
  }
  const existing = await r.store.getItem(r.host, user.local, contact);
  if (existing === undefined) {
    const { items } = await r.store.get(r.host, user.local);
    if (items.length >= r.opts.max_items) return new StanzaError('not-allowed', { text: 'the roster is full' });
  }
  // §2.1.2.5: subscription state is never set by a roster set; only name and groups change.
  await r.save(user, {
    jid: contact,
    name: parsed.name,
    groups: parsed.groups,
    subscription: existing?.subscription ?? 'none',
    ask: existing?.ask ?? false,
    approved: existing?.approved ?? false,
  });
  return null;
}
