// XEP-0012 Last Activity.
//   - On the server's JID: seconds since the server (this module) started (§5).
//   - On a user's bare JID: 0 while the user has an available resource, else the seconds
//     since the last resource went unavailable and the status it left with (§4). Only the
//     user and contacts with a presence subscription to the user may ask; others get
//     <forbidden/>, as the XEP requires for presence-protected information.
// The logout record lives in the key/value store so it survives restarts.

import { defineModule, type ModuleContext } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_LAST } from '../server/ns.ts';
import { xml, type Element } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';
import type { Jid } from '../server/jid.ts';
import type { Session } from '../server/core/sessions.ts';

const schema = s.object({});
type Options = Infer<typeof schema>;

/** Key/value namespace and key of the logout record. */
export const LAST_KV_NAMESPACE = 'mod_last';
const LAST_KV_KEY = 'logout';

interface LogoutRecord {
  /** Milliseconds since the epoch. */
  at: number;
  status: string;
}

export const modLast = defineModule<Options>({
  name: 'mod_last',
  xeps: ['XEP-0012'],
  defaults: schema.parse({}, ['modules', 'mod_last']),
  schema,
  start(host, _opts, ctx) {
    const startedAt = Date.now();
    const kv = ctx.storage.kv;
    ctx.addFeature(NS_LAST);

    ctx.addIqHandler('local', NS_LAST, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'last activity is an IQ get' });
      return lastQuery(secondsSince(startedAt));
    });

    ctx.addIqHandler('sm', NS_LAST, 'query', async (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'last activity is an IQ get' });
      const user = req.to.bare();
      if (!(await mayAsk(ctx, req.from, user))) return new StanzaError('forbidden');
      // Online on any worker of the node.
      if (ctx.router.accountResources(user).some((s) => s.available)) return lastQuery(0);
      const raw = await kv.get(host, user.local, LAST_KV_NAMESPACE, LAST_KV_KEY);
      const record = raw === undefined ? undefined : parseRecord(raw);
      // Never logged out since records were kept: nothing to tell (§4 allows item-not-found).
      if (record === undefined) return new StanzaError('item-not-found');
      return lastQuery(secondsSince(record.at), record.status);
    });

    // The user's presence went unavailable: remember when, once no other resource is online.
    const remember = (session: Session, status: string): void => {
      const user = session.jid.bare();
      if (ctx.router.accountResources(user).some((s) => s !== session && s.available)) return;
      const record: LogoutRecord = { at: Date.now(), status };
      kv.set(host, user.local, LAST_KV_NAMESPACE, LAST_KV_KEY, JSON.stringify(record)).catch((err: unknown) =>
        ctx.logger.warn('last_activity_store_failed', { user: user.toString(), error: err }));
    };
    const wentUnavailable = new WeakSet<Session>();
    ctx.addHook('unset_presence', ({ session, status }) => {
      wentUnavailable.add(session);
      remember(session, status);
    });
    // A session that never sent presence still logged out when it closes.
    ctx.addHook('session_closed', ({ session }) => {
      if (!wentUnavailable.has(session) && ctx.router.accountResources(session.jid.bare()).length === 0) remember(session, '');
    });
  },
});

function secondsSince(ms: number): number {
  return Math.max(0, Math.floor((Date.now() - ms) / 1000));
}

function lastQuery(seconds: number, status?: string): Element {
  return xml('query', { xmlns: NS_LAST, seconds }, status ? status : undefined);
}

function parseRecord(raw: string): LogoutRecord | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LogoutRecord>;
    if (typeof v.at !== 'number') return undefined;
    return { at: v.at, status: typeof v.status === 'string' ? v.status : '' };
  } catch {
    return undefined;
  }
}

/**
 * The user may always ask about themself; anyone else needs a subscription to the user's
 * presence ('from' or 'both' in the user's roster), learnt through the roster_get hook.
 */
async function mayAsk(ctx: ModuleContext, requester: Jid, user: Jid): Promise<boolean> {
  const asker = requester.bare();
  if (asker.equals(user)) return true;
  const items: Element[] = [];
  await ctx.hooks.runAsync('roster_get', user.domain, { jid: user, items });
  const wanted = asker.toString();
  return items.some((item) => {
    const sub = item.attr('subscription');
    return item.attr('jid') === wanted && (sub === 'from' || sub === 'both');
  });
}
