// XEP-0313 Message Archive Management (urn:xmpp:mam:2), with XEP-0359 stanza ids.
//
// What is archived, and where:
//   - outgoing: user_send_packet — a local user's message goes into the sender's archive
//     before it is routed;
//   - incoming: filter_local_packet — a message for an existing local account goes into the
//     recipient's archive once per routed packet, before any delivery rule runs. A message
//     for an offline user or for several resources is one routed packet: archived once.
//     The copy the recipient gets carries <stanza-id by='recipient' id='…'/>; that edit
//     makes the stanza serialized instead of written as its original bytes (zero-copy is
//     given up for archived messages only; see bench/RESULTS.md, Archive).
// Both run after mod_blocking (priority 20): a blocked message is never archived.
//
// Durability: each archive write is one SQLite transaction committed on the routing path,
// before the stanza is delivered or stored offline — so before any client can acknowledge
// it. Writes are not batched across messages: the routing path is synchronous and a batch
// could only commit after delivery; a per-message commit in WAL mode costs microseconds
// (measured in bench/RESULTS.md).
//
// Security (XEP-0359 §3): a <stanza-id/> that claims to come from the recipient's archive
// (by = recipient's bare JID) is removed from every incoming message, archived or not, so
// nobody can make a client believe a message is in its archive under an id of their choice.
//
// Queries (IQ set <query/>) are answered for the user's own archive only: the <message/>
// results go to the requesting resource, then the IQ result with <fin/>.

import { defineModule } from '../../server/core/registry.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { Packet } from '../../server/core/packet.ts';
import { StanzaError } from '../../server/errors.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { NS_CLIENT, NS_MAM, NS_STANZA_ID } from '../../server/ns.ts';
import type { IqRequest } from '../../server/core/iq.ts';
import type { ArchivePrefs } from '../../server/storage/mam.ts';
import { parseStoredElement } from '../stored-xml.ts';
import { isArchivable } from './archivable.ts';
import { parsePrefs, renderPrefs, shouldArchive } from './prefs.ts';
import { NS_MAM_EXTENDED, finElement, parseQuery, queryForm, resultMessage } from './query.ts';

const schema = s.object({
  /** What is archived for users who never set preferences: always, never, or roster (contacts only). */
  default_mode: s.enumOf(['always', 'never', 'roster'] as const).default('always'),
  /** Page size when a query gives no RSM <max/>. */
  default_page_size: s.int({ min: 1, max: 10000 }).default(50),
  /** Largest page a query may ask for; larger <max/> values are lowered to it. */
  max_page_size: s.int({ min: 1, max: 10000 }).default(250),
  /** Also archive body-less messages with a child in one of these namespaces (e.g. encrypted payloads). */
  archive_namespaces: s.array(s.string()).default([]),
});

type Options = Infer<typeof schema>;

/** Preferences cached per user (they are read for every archived message); bounded. */
const PREFS_CACHE_LIMIT = 10_000;
/** Worker notice: a user's preferences changed (data: the localpart). */
const PREFS_CHANGED = 'archive_prefs_changed';

export const modMam = defineModule<Options>({
  name: 'mod_mam',
  xeps: ['XEP-0313', 'XEP-0359'],
  defaults: schema.parse({}, ['modules', 'mod_mam']),
  schema,
  start(host, opts, ctx) {
    const archive = ctx.storage.archive;
    const extraNamespaces: ReadonlySet<string> = new Set(opts.archive_namespaces);
    const fallbackPrefs: ArchivePrefs = { defaultMode: opts.default_mode, always: [], never: [] };
    const prefsCache = new Map<string, ArchivePrefs>();
    // A packet routed again (mod_blocking waits for a list, then re-routes) is archived once
    // per side.
    const archivedOut = new WeakSet<Packet>();
    const archivedIn = new WeakSet<Packet>();

    const prefsOf = (user: Jid): ArchivePrefs => {
      const key = user.local;
      let prefs = prefsCache.get(key);
      if (prefs === undefined) {
        prefs = archive.prefsSync(host, key) ?? fallbackPrefs;
        if (prefsCache.size >= PREFS_CACHE_LIMIT) prefsCache.clear();
        prefsCache.set(key, prefs);
      }
      return prefs;
    };
    const wants = (owner: Jid, other: Jid): boolean =>
      shouldArchive(prefsOf(owner), other.bare().toString(), () => archive.inRosterSync(host, owner.local, other.bare().toString()));

    // The stored form: self-contained (own namespace, both addresses), without stanza-ids
    // this server assigns (those are added per archive, on the way out).
    const storedCopy = (packet: Packet): string => {
      const copy = packet.element().clone();
      copy.attrs.xmlns = NS_CLIENT;
      copy.attrs.from = packet.from.toString();
      copy.attrs.to = packet.to.toString();
      return copy.toString();
    };

    const isLocalUser = (jid: Jid): boolean => jid.local !== '' && jid.domain === host;
    const accountExists = (user: Jid): boolean =>
      ctx.sessions.resources(user).length > 0 || (ctx.storage.users.existsSync?.(host, user.local) ?? true);

    ctx.addHook('user_send_packet', ({ session, packet }) => {
      if (packet.kind !== 'message' || archivedOut.has(packet)) return;
      const owner = session.jid.bare();
      // To oneself: archived once, as incoming.
      if (packet.to.bare().equals(owner) || packet.to.local === '' && packet.to.domain === host) return;
      if (!isArchivable(packet.element(), extraNamespaces) || !wants(owner, packet.to)) return;
      archivedOut.add(packet);
      archive.appendSync([{ host, user: owner.local, with: packet.to.bare().toString(), direction: 'out', stanza: storedCopy(packet) }]);
    }, 60);

    ctx.addHook('filter_local_packet', ({ packet }) => {
      // A redelivery was archived (and got its stanza-id) when it was first routed.
      if (packet.kind !== 'message' || packet.redelivery || !isLocalUser(packet.to)) return;
      const owner = packet.to.bare();
      const ownerText = owner.toString();
      const message = packet.element();
      const forged = message.elements.filter((c) => c.localName === 'stanza-id' && c.ns === NS_STANZA_ID && sameBare(c.attrs.by, owner));
      if (forged.length > 0) {
        const edited = packet.edit();
        for (const c of forged) edited.remove(c);
        ctx.logger.info('mam_stanza_id_stripped', { from: packet.from.toString(), to: ownerText });
      }
      if (archivedIn.has(packet) || !isArchivable(message, extraNamespaces)) return;
      if (!accountExists(owner) || !wants(owner, packet.from)) return;
      archivedIn.add(packet);
      const [id] = archive.appendSync([{ host, user: owner.local, with: packet.from.bare().toString(), direction: 'in', stanza: storedCopy(packet) }]);
      packet.edit().c('stanza-id', { xmlns: NS_STANZA_ID, by: ownerText, id: String(id) });
    }, 60);

    ctx.addHook('remove_user', async ({ jid }) => {
      if (jid.domain !== host) return;
      prefsCache.delete(jid.local);
      await archive.removeUser(host, jid.local);
      ctx.notifyWorkers(PREFS_CHANGED, jid.local);
    });
    // Preferences set through another worker of the node: read them again when next needed.
    ctx.onWorkerNotice(PREFS_CHANGED, (local) => {
      prefsCache.delete(local);
    });

    ctx.addFeature(NS_MAM);
    ctx.addFeature(NS_MAM_EXTENDED);
    ctx.addHook('disco_sm_features', ({ features }) => {
      features.push(NS_MAM, NS_MAM_EXTENDED);
    });

    const ownArchiveOnly = (req: IqRequest): StanzaError | undefined =>
      req.from.bare().equals(req.to.bare()) ? undefined : new StanzaError('forbidden', { text: 'only your own archive' });

    ctx.addIqHandler('sm', NS_MAM, 'query', async (req) => {
      const refused = ownArchiveOnly(req);
      if (refused) return refused;
      if (req.type === 'get') return queryForm();
      const parsed = parseQuery(req.payload, { default: opts.default_page_size, max: opts.max_page_size });
      if (parsed instanceof StanzaError) return parsed;
      const user = req.to.local;
      for (const id of parsed.referencedIds) {
        if (!(await archive.has(host, user, id))) return new StanzaError('item-not-found', { text: `no message with id ${id}` });
      }
      const page = await archive.query(host, user, parsed.query);
      const session = ctx.sessions.get(req.from);
      if (session !== undefined) {
        const owner = req.to.bare();
        for (const entry of page.messages) {
          const stored = parseStoredElement(entry.stanza);
          if (stored === undefined) {
            ctx.logger.warn('mam_stored_message_unreadable', { user: owner.toString(), id: entry.id });
            continue;
          }
          const el = resultMessage(owner.toString(), req.from.toString(), parsed.queryId, entry, stored);
          ctx.router.deliver(session, Packet.fromElement(el, owner, req.from));
        }
      }
      return finElement(page.messages, page.complete);
    });

    ctx.addIqHandler('sm', NS_MAM, 'prefs', async (req) => {
      const refused = ownArchiveOnly(req);
      if (refused) return refused;
      const user = req.to.local;
      if (req.type === 'get') return renderPrefs(prefsOf(req.to.bare()));
      const prefs = parsePrefs(req.payload);
      if (prefs instanceof StanzaError) return prefs;
      await archive.setPrefs(host, user, prefs);
      prefsCache.set(user, prefs);
      ctx.notifyWorkers(PREFS_CHANGED, user);
      return renderPrefs(prefs);
    });
  },
});

function sameBare(by: string | undefined, owner: Jid): boolean {
  if (by === undefined) return false;
  const jid = tryParseJid(by);
  return jid !== undefined && jid.bare().equals(owner);
}
