// XEP-0191 Blocking Command: a user blocks JIDs (full, bare or domain); the server keeps the
// list, pushes changes to the user's resources that fetched it, and enforces it both ways:
//
//   blocked → user   presence: dropped without an answer; message: <service-unavailable/>
//                    (§3.4 — as if the user did not exist); IQ get/set: <service-unavailable/>;
//                    results and errors: dropped.
//   user → blocked   refused with <not-acceptable/> and <blocked xmlns='urn:xmpp:blocking:errors'/>
//                    (§3.5); presence the server broadcasts for the user is not sent there.
//
// Enforcement runs on the synchronous routing path, so lists are cached in memory: loaded when
// a session binds, or on the first stanza for an account whose list is not cached. A stanza
// that meets a list still loading waits for it in a small queue (order kept, bounded) and is
// routed again once the list is known; nothing slips through while a list loads.
//
// Workers: each worker of a node caches the lists it needs. A change is stored, pushed to the
// account's interested resources on every worker (the 'blocklist_interested' audience), and
// announced to the other workers ('blocklist_changed'), which drop their cached copy and
// read the list again before judging the next stanza.

import { defineModule, type ModuleContext } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_BLOCKING } from '../server/ns.ts';
import { Element, xml } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';
import { Packet } from '../server/core/packet.ts';
import { STOP } from '../server/core/hooks.ts';
import { makeJid, tryParseJid, type Jid } from '../server/jid.ts';
import type { Session } from '../server/core/sessions.ts';

const schema = s.object({
  /** Most JIDs one account may block. */
  max_items: s.int({ min: 1 }).default(1000),
  /** Accounts whose list stays cached while no resource is online. */
  cache_size: s.int({ min: 1 }).default(10000),
  /** Stanzas that may wait for one account's list to load. */
  max_waiting: s.int({ min: 1 }).default(100),
});
type Options = Infer<typeof schema>;

export const BLOCKING_KV_NAMESPACE = 'mod_blocking';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';

/** Whether a list of blocked JIDs covers `who` (XEP-0016 §2.1 matching order). */
export function blocks(list: ReadonlySet<string>, who: Jid): boolean {
  if (list.size === 0) return false;
  if (list.has(who.toString())) return true;
  if (who.local !== '' && list.has(who.bare().toString())) return true;
  if (who.resource !== '' && list.has(`${who.domain}/${who.resource}`)) return true;
  return list.has(who.domain);
}

interface Loading {
  readonly waiting: Array<() => void>;
  /** The list changed (on another worker) while this read was under way: read it again. */
  stale: boolean;
}

const BLOCKLIST_CHANGED = 'blocklist_changed';

export const modBlocking = defineModule<Options>({
  name: 'mod_blocking',
  xeps: ['XEP-0191'],
  defaults: schema.parse({}, ['modules', 'mod_blocking']),
  schema,
  start(host, opts, ctx) {
    const kv = ctx.storage.kv;
    const lists = new Map<string, Set<string> | Loading>();
    const interested = new WeakSet<Session>();
    // The resources that asked for the list, on whichever worker holds them.
    const pushAudience = ctx.defineAudience('blocklist_interested', (session) => interested.has(session));
    // Refusals this module built: not judged again on their way back. A stanza that waited for
    // a list is not in here: routed again, it is judged with every list it needs (a second one
    // may have had to load, or changed on another worker, in the meantime).
    const judged = new WeakSet<Packet>();
    ctx.addFeature(NS_BLOCKING);

    const evict = (): void => {
      if (lists.size <= opts.cache_size) return;
      for (const [key, entry] of lists) {
        if (lists.size <= opts.cache_size) break;
        if (entry instanceof Set && ctx.sessions.resources(parseBare(key)).length === 0) lists.delete(key);
      }
    };

    const load = (user: Jid): Set<string> | Loading => {
      const key = user.toString();
      const cached = lists.get(key);
      if (cached !== undefined) return cached;
      const loading: Loading = { waiting: [], stale: false };
      lists.set(key, loading);
      kv.list(host, user.local, BLOCKING_KV_NAMESPACE).then(
        (entries) => {
          if (loading.stale && lists.get(key) === loading) {
            // The read may predate the change: what waited waits for a fresh one.
            lists.delete(key);
            const again = load(user);
            if (again instanceof Set) for (const resume of loading.waiting) resume();
            else again.waiting.push(...loading.waiting);
            return;
          }
          if (lists.get(key) === loading) lists.set(key, new Set(entries.map((e) => e.key)));
          evict();
          for (const resume of loading.waiting) resume();
        },
        (err: unknown) => {
          ctx.logger.warn('blocklist_load_failed', { user: key, error: err });
          // Unknown is not "nothing blocked": refuse what waited, and try again next time.
          if (lists.get(key) === loading) lists.delete(key);
          for (const resume of loading.waiting) resume();
        },
      );
      return loading;
    };

    /** The list, or undefined after queueing `resume` behind a load (false when the queue is full). */
    const listOrWait = (user: Jid, packet: Packet, resume: () => void): Set<string> | 'waiting' | 'full' => {
      const entry = load(user);
      if (entry instanceof Set) return entry;
      if (entry.waiting.length >= opts.max_waiting) return 'full';
      packet.detach();
      entry.waiting.push(resume);
      return 'waiting';
    };

    // The refusal comes "from" the blocked contact: mark it judged, or the user's own list
    // would drop it on the way back.
    const refuseOutgoing = (packet: Packet): void => {
      const reply = packet.errorReply(new StanzaError('not-acceptable', { appCondition: new Element('blocked', { xmlns: NS_BLOCKING_ERRORS }) }));
      if (reply === undefined) return;
      judged.add(reply);
      ctx.route(reply);
    };

    const isLocalUser = (jid: Jid): boolean => jid.local !== '' && jid.domain === host;

    ctx.addHook('session_opened', ({ session }) => {
      load(session.jid.bare());
    });
    ctx.addHook('session_closed', ({ session }) => {
      const user = session.jid.bare();
      if (ctx.sessions.resources(user).length === 0 && lists.get(user.toString()) instanceof Set) {
        // Keep it cached (it is likely needed again soon), within the cache bound.
        evict();
      }
    });
    ctx.addHook('remove_user', ({ jid }) => {
      lists.delete(jid.bare().toString());
      ctx.notifyWorkers(BLOCKLIST_CHANGED, jid.bare().toString());
    });

    // Another worker changed a list: forget our copy; the next stanza that needs it reads it.
    ctx.onWorkerNotice(BLOCKLIST_CHANGED, (data) => {
      const user = tryParseJid(data);
      if (user === undefined) return;
      const key = user.bare().toString();
      const entry = lists.get(key);
      if (entry === undefined) return;
      if (entry instanceof Set) {
        lists.delete(key);
        // Keep it loaded for an account online here, as a bind would.
        if (ctx.sessions.resources(user).length > 0) load(user.bare());
      } else {
        entry.stale = true;
      }
    });

    // The user sends to someone they blocked (§3.5).
    ctx.addHook('user_send_packet', ({ session, packet }) => {
      if (judged.has(packet)) return;
      const owner = session.jid.bare();
      if (packet.to.bare().equals(owner)) return;
      const list = listOrWait(owner, packet, () => {
        const verdict = lists.get(owner.toString());
        if (!(verdict instanceof Set)) ctx.router.bounce(packet, 'internal-server-error');
        else if (blocks(verdict, packet.to)) refuseOutgoing(packet);
        else ctx.router.routeFromSession(session, packet);
      });
      if (list === 'waiting') return STOP;
      if (list === 'full') {
        ctx.router.bounce(packet, 'resource-constraint');
        return STOP;
      }
      if (!blocks(list, packet.to)) return;
      refuseOutgoing(packet);
      return STOP;
    }, 20);

    // Everything addressed to this host: stanzas from someone a local user blocked, and
    // presence the server sends for a user to someone that user blocked.
    ctx.addHook('filter_local_packet', ({ packet }) => {
      if (judged.has(packet)) return;
      const recipient = isLocalUser(packet.to) ? packet.to.bare() : undefined;
      const sender = isLocalUser(packet.from) ? packet.from.bare() : undefined;
      if (recipient !== undefined && sender !== undefined && recipient.equals(sender)) return;
      const users = [recipient, sender].filter((u): u is Jid => u !== undefined);
      for (const user of users) {
        const list = listOrWait(user, packet, () => {
          if (lists.get(user.toString()) instanceof Set) ctx.route(packet);
          else ctx.router.bounce(packet, 'internal-server-error');
        });
        if (list === 'waiting') return STOP;
        if (list === 'full') {
          ctx.router.bounce(packet, 'resource-constraint');
          return STOP;
        }
      }
      const inbound = recipient === undefined ? undefined : lists.get(recipient.toString());
      if (inbound instanceof Set && blocks(inbound, packet.from)) {
        // §3.4: presence ignored; messages and IQ requests answered as from a nonexistent user.
        if (packet.kind === 'message' || packet.kind === 'iq') ctx.router.bounce(packet, 'service-unavailable');
        return STOP;
      }
      // Errors still reach the blocked party: they answer what it sent (e.g. the bounce above).
      if (packet.type === 'error') return undefined;
      const outbound = sender === undefined ? undefined : lists.get(sender.toString());
      if (outbound instanceof Set && blocks(outbound, packet.to)) {
        if (packet.kind !== 'presence') refuseOutgoing(packet);
        return STOP;
      }
      return undefined;
    }, 20);

    // ── the protocol (§3.1–§3.3): own account only ───────────────────────────────
    const current = async (user: Jid): Promise<Set<string>> => {
      const entries = await kv.list(host, user.local, BLOCKING_KV_NAMESPACE);
      const set = new Set(entries.map((e) => e.key));
      lists.set(user.toString(), set);
      return set;
    };

    const push = (user: Jid, change: Element): void => {
      ctx.router.deliverToAudience(user, pushAudience, () =>
        Packet.fromElement(xml('iq', { type: 'set', id: `push-${Math.random().toString(36).slice(2, 10)}`, from: user.toString(), to: user.toString() }, change)));
    };

    ctx.addIqHandler('sm', NS_BLOCKING, 'blocklist', async (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request');
      const user = req.to.bare();
      if (!req.from.bare().equals(user)) return new StanzaError('forbidden');
      const session = ctx.sessions.get(req.from);
      if (session !== undefined) interested.add(session);
      const list = await current(user);
      return xml('blocklist', { xmlns: NS_BLOCKING }, [...list].sort().map((jid) => xml('item', { jid })));
    });

    const readItems = (payload: Element): Jid[] | StanzaError => {
      const out: Jid[] = [];
      for (const item of payload.getChildren('item', NS_BLOCKING)) {
        const jid = tryParseJid(item.attr('jid') ?? '');
        if (jid === undefined) return new StanzaError('jid-malformed');
        out.push(jid);
      }
      return out;
    };

    ctx.addIqHandler('sm', NS_BLOCKING, 'block', async (req) => {
      if (req.type !== 'set') return new StanzaError('bad-request');
      const user = req.to.bare();
      if (!req.from.bare().equals(user)) return new StanzaError('forbidden');
      const items = readItems(req.payload);
      if (items instanceof StanzaError) return items;
      if (items.length === 0) return new StanzaError('bad-request', { text: 'block at least one JID' });
      const list = await current(user);
      const added = items.filter((j) => !list.has(j.toString()));
      if (list.size + added.length > opts.max_items) return new StanzaError('resource-constraint', { text: `at most ${opts.max_items} blocked JIDs` });
      // §3.3: the blocked contact sees the user go offline, if it could see the user at all.
      await sendUnavailable(ctx, user, added);
      for (const jid of added) {
        await kv.set(host, user.local, BLOCKING_KV_NAMESPACE, jid.toString(), '');
        list.add(jid.toString());
      }
      ctx.notifyWorkers(BLOCKLIST_CHANGED, user.toString());
      push(user, xml('block', { xmlns: NS_BLOCKING }, items.map((j) => xml('item', { jid: j.toString() }))));
      return null;
    });

    ctx.addIqHandler('sm', NS_BLOCKING, 'unblock', async (req) => {
      if (req.type !== 'set') return new StanzaError('bad-request');
      const user = req.to.bare();
      if (!req.from.bare().equals(user)) return new StanzaError('forbidden');
      const items = readItems(req.payload);
      if (items instanceof StanzaError) return items;
      const list = await current(user);
      // No items: unblock everyone (§3.3.2).
      const removed = items.length === 0 ? [...list] : items.map((j) => j.toString());
      for (const jid of removed) {
        await kv.delete(host, user.local, BLOCKING_KV_NAMESPACE, jid);
        list.delete(jid);
      }
      ctx.notifyWorkers(BLOCKLIST_CHANGED, user.toString());
      push(user, xml('unblock', { xmlns: NS_BLOCKING }, items.map((j) => xml('item', { jid: j.toString() }))));
      return null;
    });
  },
});


/** Unavailable presence from each available resource (on any worker) to newly blocked contacts that may see it. */
async function sendUnavailable(ctx: ModuleContext, user: Jid, blocked: Jid[]): Promise<void> {
  const available = ctx.router.accountResources(user).filter((s) => s.available);
  if (available.length === 0 || blocked.length === 0) return;
  const items: Element[] = [];
  await ctx.hooks.runAsync('roster_get', user.domain, { jid: user, items });
  const seeing = new Set(items.filter((i) => i.attr('subscription') === 'from' || i.attr('subscription') === 'both').map((i) => i.attr('jid')));
  for (const contact of blocked) {
    if (!seeing.has(contact.bare().toString())) continue;
    for (const session of available) {
      ctx.route(Packet.fromElement(xml('presence', { type: 'unavailable', from: session.jid.toString(), to: contact.toString() })));
    }
  }
}

function parseBare(key: string): Jid {
  const at = key.indexOf('@');
  return at < 0 ? makeJid('', key) : makeJid(key.slice(0, at), key.slice(at + 1));
}
