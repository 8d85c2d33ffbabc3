// Rosters through the roster store mod_roster uses (server/storage/roster.ts), and offline
// message counts through the offline store (mod_offline). A changed roster is pushed to the
// user's interested resources, as mod_roster does after a client's roster set.

import { randomBytes } from 'node:crypto';
import { Packet } from '../../core/packet.ts';
import { parseJid, type Jid } from '../../jid.ts';
import { NS_ROSTER } from '../../ns.ts';
import type { RosterItem, Subscription } from '../../storage/roster.ts';
import type { Storage } from '../../storage/storage.ts';
import { Element } from '../../xml/element.ts';
import { itemElement, removedItemElement } from '../../../modules/mod_roster/items.ts';
import { defineCommand, fail } from '../command.ts';
import type { AdminNode } from '../node.ts';

const SUBSCRIPTIONS: readonly Subscription[] = ['none', 'to', 'from', 'both'];

const userArg = { name: 'jid', type: 'account', description: 'the roster owner, user@host', example: 'alice@localhost', formVar: 'accountjid' } as const;
const contactArg = { name: 'contact', type: 'jid', description: "the contact's bare JID", example: 'bob@localhost' } as const;

async function ensureAccount(storage: Storage, jid: Jid): Promise<boolean> {
  return (await storage.users.get(jid.domain, jid.local)) !== undefined;
}

function bareContact(text: string): Jid | string {
  const jid = parseJid(text);
  return jid.resource === '' ? jid : `${text}: a roster contact is a bare JID`;
}

/** RFC 6121 §2.1.6 roster push to every resource of `user` that fetched its roster. */
function push(node: AdminNode, user: Jid, item: Element, version: number): void {
  const core = node.core;
  if (!core) return;
  const bare = user.bare();
  for (const session of core.sessions.resources(bare)) {
    if (!session.interested) continue;
    const iq = new Element('iq', { type: 'set', id: 'push-' + randomBytes(6).toString('base64url'), from: bare.toString(), to: session.jid.toString() });
    iq.c('query', { xmlns: NS_ROSTER, ver: String(version) }).append(item.clone());
    core.router.deliver(session, Packet.fromElement(iq, bare, session.jid));
  }
}

async function putItem(node: AdminNode, storage: Storage, owner: Jid, item: RosterItem): Promise<void> {
  const version = await storage.roster.put(owner.domain, owner.local, item);
  push(node, owner, itemElement(item), version);
}

export const rosterList = defineCommand({
  name: ['roster', 'list'],
  group: 'roster',
  summary: "list an account's roster",
  args: [userArg],
  returns: 'items of { jid, name, subscription, ask, groups }',
  access: 'monitor',
  readOnly: true,
  offline: true,
  async run(node, args) {
    const owner = parseJid(args.jid as string);
    const storage = await node.storage();
    if (!(await ensureAccount(storage, owner))) return fail('not_found', `${owner} does not exist`);
    const { items } = await storage.roster.get(owner.domain, owner.local);
    const data = items.map((i) => ({ jid: i.jid, name: i.name, subscription: i.subscription, ask: i.ask, groups: [...i.groups] }));
    return { ok: true, data, lines: data.map((i) => `${i.jid}\t${i.subscription}${i.ask ? ' (asked)' : ''}\t${i.name ?? ''}\t${i.groups.join(',')}`) };
  },
});

export const rosterAdd = defineCommand({
  name: ['roster', 'add'],
  group: 'roster',
  summary: "add or replace an item of an account's roster",
  args: [
    userArg,
    contactArg,
    { name: 'name', type: 'string', description: 'the name shown for the contact', example: 'Bob', optional: true },
    { name: 'groups', type: 'strings', description: 'roster groups', example: ['Friends'], optional: true },
    { name: 'subscription', type: 'enum', values: SUBSCRIPTIONS, description: 'the subscription state (none when left out)', example: 'both', optional: true },
  ],
  returns: 'nothing',
  access: 'admin',
  offline: true,
  async run(node, args) {
    const owner = parseJid(args.jid as string);
    const contact = bareContact(args.contact as string);
    if (typeof contact === 'string') return fail('invalid', contact);
    if (contact.equals(owner)) return fail('invalid', 'an account cannot be on its own roster');
    const storage = await node.storage();
    if (!(await ensureAccount(storage, owner))) return fail('not_found', `${owner} does not exist`);
    const existing = await storage.roster.getItem(owner.domain, owner.local, contact.toString());
    await putItem(node, storage, owner, {
      jid: contact.toString(),
      name: (args.name as string | undefined) ?? existing?.name,
      subscription: (args.subscription as Subscription | undefined) ?? existing?.subscription ?? 'none',
      ask: existing?.ask ?? false,
      approved: existing?.approved ?? false,
      groups: (args.groups as readonly string[] | undefined) ?? existing?.groups ?? [],
    });
    return { ok: true, message: `${contact} is on ${owner}'s roster` };
  },
});

export const rosterDelete = defineCommand({
  name: ['roster', 'delete'],
  group: 'roster',
  summary: "remove an item from an account's roster",
  args: [userArg, contactArg],
  returns: 'nothing',
  access: 'admin',
  offline: true,
  async run(node, args) {
    const owner = parseJid(args.jid as string);
    const contact = bareContact(args.contact as string);
    if (typeof contact === 'string') return fail('invalid', contact);
    const storage = await node.storage();
    const version = await storage.roster.remove(owner.domain, owner.local, contact.toString());
    if (version === undefined) return fail('not_found', `${contact} is not on ${owner}'s roster`);
    push(node, owner, removedItemElement(contact.toString()), version);
    return { ok: true, message: `${contact} removed from ${owner}'s roster` };
  },
});

export const rosterSubscribe = defineCommand({
  name: ['roster', 'subscribe'],
  group: 'roster',
  summary: "make two accounts subscribed to each other's presence (subscription both on both rosters)",
  args: [
    userArg,
    { name: 'contact', type: 'account', description: 'the other account, user@host', example: 'bob@localhost' },
    { name: 'name', type: 'string', description: "the name on the first account's roster", example: 'Bob', optional: true },
    { name: 'contact_name', type: 'string', description: "the name on the contact's roster", example: 'Alice', optional: true },
    { name: 'groups', type: 'strings', description: 'groups on both rosters', example: ['Team'], optional: true },
  ],
  returns: 'nothing',
  access: 'admin',
  offline: true,
  async run(node, args) {
    const a = parseJid(args.jid as string);
    const b = parseJid(args.contact as string);
    if (a.equals(b)) return fail('invalid', 'an account cannot subscribe to itself');
    const storage = await node.storage();
    for (const who of [a, b]) if (!(await ensureAccount(storage, who))) return fail('not_found', `${who} does not exist`);
    const groups = (args.groups as readonly string[] | undefined) ?? [];
    for (const [owner, contact, name] of [[a, b, args.name], [b, a, args.contact_name]] as const) {
      const existing = await storage.roster.getItem(owner.domain, owner.local, contact.toString());
      await putItem(node, storage, owner, {
        jid: contact.toString(),
        name: (name as string | undefined) ?? existing?.name,
        subscription: 'both',
        ask: false,
        approved: false,
        groups: groups.length > 0 ? groups : existing?.groups ?? [],
      });
      // A waiting request from the contact is answered by this.
      await storage.roster.removePending(owner.domain, owner.local, contact.toString());
    }
    // Now subscribed both ways: each side's online resources learn the other's presence,
    // as after a subscription handshake (RFC 6121 §3.1.5) — a probe each way, answered by
    // the roster module from the presence it keeps.
    const core = node.core;
    if (core !== undefined) {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        core.router.route(Packet.fromElement(new Element('presence', { type: 'probe', from: from.toString(), to: to.toString() })));
      }
    }
    return { ok: true, message: `${a} and ${b} are subscribed to each other` };
  },
});

export const offlineCount = defineCommand({
  name: ['offline', 'count'],
  group: 'offline',
  summary: 'count the messages stored for an account while it was offline',
  args: [userArg],
  returns: '{ count }',
  access: 'monitor',
  readOnly: true,
  offline: true,
  async run(node, args) {
    const owner = parseJid(args.jid as string);
    const storage = await node.storage();
    if (!(await ensureAccount(storage, owner))) return fail('not_found', `${owner} does not exist`);
    const count = await storage.offline.count(owner.domain, owner.local);
    return { ok: true, data: { count }, lines: [String(count)] };
  },
});

export const ROSTER_COMMANDS = [rosterList, rosterAdd, rosterDelete, rosterSubscribe];
export const OFFLINE_COMMANDS = [offlineCount];
