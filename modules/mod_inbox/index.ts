// MongooseIM's Inbox (erlang-solutions.com:xmpp:inbox:0): the list of a user's conversations,
// each with its last message, unread count, box (inbox / archive / configured others) and
// mute deadline — what a client shows first, without syncing the archive.
//
//   - Each 1:1 message with a body updates both parties' entries: the sender's (on
//     user_send_packet) becomes read (unread 0), the local recipient's (on
//     filter_local_packet, after mod_blocking and mod_mam so the stored copy carries the
//     archive's stanza-id) gains one unread. Carbons, forwarded copies, archive results,
//     delayed messages and errors change nothing. An entry in the archive box returns to
//     the inbox when a new message arrives.
//   - A chat marker the user sends (displayed by default: reset_markers) whose id is that of
//     the conversation's last message resets its unread count; another id does not.
//   - <inbox/> (IQ set) answers with one <message><result/></message> per conversation to the
//     requesting resource, then the IQ result <fin/> with count, unread-messages and
//     active-conversations.
//   - #conversation: get/set box, archive, mute (seconds), read; changes are pushed to every
//     resource of the user as <message><x jid=…/></message>. <reset jid=…/> sets unread to 0.
// Inbox writes are not on the durability path (the archive is): they run when routed and
// are ordered per process, and a failure is logged.

import { defineModule } from '../../server/core/registry.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { Packet } from '../../server/core/packet.ts';
import { ALL_RESOURCES, builtInAudience } from '../../server/core/audiences.ts';
import { StanzaError } from '../../server/errors.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { NS_CLIENT, NS_INBOX } from '../../server/ns.ts';
import { xml } from '../../server/xml/element.ts';
import type { IqRequest } from '../../server/core/iq.ts';
import type { InboxUpdate } from '../../server/storage/inbox.ts';
import { parseStoredElement } from '../stored-xml.ts';
import { resetMarkerId, updatesInbox } from './counting.ts';
import {
  NS_INBOX_CONVERSATION, finElement, inboxForm, parseInboxQuery, parsePropertyChange, propertiesForm, propertyElements, resultMessage,
} from './protocol.ts';

const schema = s.object({
  /** Chat markers (XEP-0333) that, sent by the user for the last message, reset its unread count. */
  reset_markers: s.array(s.enumOf(['displayed', 'received', 'acknowledged'] as const), { unique: true }).default(['displayed']),
  /** Boxes beyond 'inbox' and 'archive' that conversations may be filed in. */
  boxes: s.array(s.string({ pattern: /^[a-z0-9_-]{1,64}$/, what: 'a box name (a-z, 0-9, _ and -)' }), { unique: true }).default([]),
});

type Options = Infer<typeof schema>;

export const modInbox = defineModule<Options>({
  name: 'mod_inbox',
  xeps: [],
  defaults: schema.parse({}, ['modules', 'mod_inbox']),
  schema,
  start(host, opts, ctx) {
    const inbox = ctx.storage.inbox;
    const markers: ReadonlySet<string> = new Set(opts.reset_markers);
    const boxList = ['inbox', 'archive', ...opts.boxes.filter((b) => b !== 'inbox' && b !== 'archive' && b !== 'all')];
    const boxes: ReadonlySet<string> = new Set(boxList);
    // Each routed packet counts once per side, however often a hook sees it.
    const outgoing = new WeakSet<Packet>();
    const incoming = new WeakSet<Packet>();
    const isLocalUser = (jid: Jid): boolean => jid.local !== '' && jid.domain === host;
    const everyResource = builtInAudience(host, ALL_RESOURCES);

    const write = (what: string, work: Promise<unknown>): void => {
      work.catch((err: unknown) => ctx.logger.warn('inbox_write_failed', { what, error: err }));
    };
    const storedCopy = (packet: Packet): string => {
      const copy = packet.element().clone();
      copy.attrs.xmlns = NS_CLIENT;
      copy.attrs.from = packet.from.toString();
      copy.attrs.to = packet.to.toString();
      return copy.toString();
    };
    const update = (packet: Packet, owner: Jid, remote: Jid, unread: InboxUpdate['unread']): InboxUpdate => ({
      host, user: owner.local, remote: remote.bare().toString(), stanza: storedCopy(packet), messageId: packet.id ?? '', timestamp: Date.now(), unread,
    });

    ctx.addHook('user_send_packet', ({ session, packet }) => {
      if (packet.kind !== 'message') return;
      const owner = session.jid.bare();
      const remote = packet.to.bare();
      if (remote.equals(owner) || remote.local === '') return;
      const message = packet.element();
      const markerId = resetMarkerId(message, markers);
      if (markerId !== undefined) {
        write('marker', inbox.markDisplayed(host, owner.local, remote.toString(), markerId));
        return;
      }
      if (outgoing.has(packet) || !updatesInbox(message)) return;
      outgoing.add(packet);
      write('sent', inbox.update([update(packet, owner, remote, 'reset')]));
    }, 61);

    ctx.addHook('filter_local_packet', ({ packet }) => {
      if (packet.kind !== 'message' || !isLocalUser(packet.to)) return;
      const owner = packet.to.bare();
      if (packet.from.bare().equals(owner) || packet.from.local === '') return;
      if (incoming.has(packet)) return;
      // Only for accounts that exist.
      if (ctx.sessions.resources(owner).length === 0 && !(ctx.storage.users.existsSync?.(host, owner.local) ?? true)) return;
      if (!updatesInbox(packet.element())) return;
      incoming.add(packet);
      write('received', inbox.update([update(packet, owner, packet.from, 'increment')]));
    }, 61);

    ctx.addHook('remove_user', async ({ jid }) => {
      if (jid.domain === host) await inbox.removeUser(host, jid.local);
    });

    ctx.addFeature(NS_INBOX);
    ctx.addFeature(NS_INBOX_CONVERSATION);

    // Requests come to the user's bare JID (no 'to') or to the server: either way, own inbox only.
    const ownerOf = (req: IqRequest): Jid | StanzaError => {
      if (req.to.local === '' || req.from.bare().equals(req.to.bare())) return req.from.bare();
      return new StanzaError('forbidden', { text: 'only your own inbox' });
    };

    const queryInbox = async (req: IqRequest) => {
      const owner = ownerOf(req);
      if (owner instanceof StanzaError) return owner;
      if (req.type !== 'set') return new StanzaError('bad-request', { text: 'the inbox is fetched with an IQ set' });
      const query = parseInboxQuery(req.payload, boxes);
      if (query instanceof StanzaError) return query;
      const { entries, totals } = await inbox.query(host, owner.local, query);
      const queryId = req.payload.attrs.queryid ?? req.id;
      const session = ctx.sessions.get(req.from);
      const now = Date.now();
      if (session !== undefined) {
        for (const entry of entries) {
          const stored = parseStoredElement(entry.stanza);
          if (stored === undefined) continue;
          const el = resultMessage(owner.toString(), req.from.toString(), queryId, entry, stored, now);
          ctx.router.deliver(session, Packet.fromElement(el, owner, req.from));
        }
      }
      return finElement(totals);
    };
    const formOnly = (req: IqRequest) => {
      const owner = ownerOf(req);
      if (owner instanceof StanzaError) return owner;
      return req.type === 'get' ? inboxForm(boxList) : new StanzaError('bad-request');
    };

    const conversation = async (req: IqRequest) => {
      const owner = ownerOf(req);
      if (owner instanceof StanzaError) return owner;
      const jidText = req.payload.attrs.jid;
      if (jidText === undefined) return req.type === 'get' ? propertiesForm(boxList) : new StanzaError('bad-request', { text: 'jid is required' });
      const remote = tryParseJid(jidText)?.bare();
      if (remote === undefined) return new StanzaError('jid-malformed');
      const now = Date.now();
      if (req.type === 'get') {
        const entry = await inbox.get(host, owner.local, remote.toString());
        if (entry === undefined) return new StanzaError('item-not-found');
        const q = xml('query', { xmlns: NS_INBOX_CONVERSATION });
        if (req.payload.attrs.complete === 'true') {
          const stored = parseStoredElement(entry.stanza);
          if (stored !== undefined) q.append(resultMessage(owner.toString(), req.from.toString(), req.id, entry, stored, now).getChild('result')!.getChild('forwarded')!);
        }
        for (const p of propertyElements(entry, now)) q.append(p);
        return q;
      }
      const change = parsePropertyChange(req.payload, boxes);
      if (change instanceof StanzaError) return change;
      const mutedUntil = change.muteSeconds === undefined ? undefined : change.muteSeconds === 0 ? 0 : now + change.muteSeconds * 1000;
      const found = await inbox.setProperties(host, owner.local, remote.toString(), { box: change.box, unread: change.unread, mutedUntil });
      if (!found) return new StanzaError('item-not-found');
      const entry = (await inbox.get(host, owner.local, remote.toString()))!;
      // Every resource of the user, on any worker, learns the new state (MongooseIM sends it to the bare JID).
      ctx.router.deliverToAudience(owner, everyResource, () => {
        const push = xml('message', { from: owner.toString(), to: owner.toString(), id: `inbox-set-${req.id}` },
          xml('x', { xmlns: NS_INBOX_CONVERSATION, jid: remote.toString() }, ...propertyElements(entry, now)));
        return Packet.fromElement(push, owner, owner);
      });
      return xml('query', { xmlns: NS_INBOX_CONVERSATION, jid: remote.toString() }, ...propertyElements(entry, now));
    };

    const reset = async (req: IqRequest) => {
      const owner = ownerOf(req);
      if (owner instanceof StanzaError) return owner;
      if (req.type !== 'set') return new StanzaError('bad-request');
      const remote = tryParseJid(req.payload.attrs.jid ?? '')?.bare();
      if (remote === undefined) return new StanzaError('jid-malformed', { text: 'reset needs a jid' });
      const found = await inbox.setProperties(host, owner.local, remote.toString(), { unread: 0 });
      return found ? null : new StanzaError('item-not-found');
    };

    for (const scope of ['sm', 'local'] as const) {
      ctx.addIqHandler(scope, NS_INBOX, 'inbox', queryInbox);
      ctx.addIqHandler(scope, NS_INBOX, 'query', formOnly);
      ctx.addIqHandler(scope, NS_INBOX_CONVERSATION, 'query', conversation);
      ctx.addIqHandler(scope, NS_INBOX_CONVERSATION, 'reset', reset);
      ctx.addIqHandler(scope, NS_INBOX, 'reset', reset);
    }
  },
});
