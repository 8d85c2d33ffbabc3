// mod_roster: RFC 6121 rosters, subscriptions and presence, on one host.
//
// Presence lives here rather than in a mod_presence of its own: every presence decision
// (who gets a broadcast, whom to probe, who may see a probe's answer) reads the subscription
// state this module owns, and subscription changes must send presence (§3.1.5, §3.2.2,
// §3.3.3) in order with the user's other work. One module shares one per-user task chain and
// one store; two would need an inter-module API the registry does not have, and could be
// loaded one without the other.
//
// Hooks:
//   user_send_packet        outbound subscription stanzas (taken: routed after the roster
//                           changed), directed presence, the stanza of an unavailable presence
//   roster_in_subscription  inbound subscription stanzas (taken)
//   presence_probe          probes for local users (taken)
//   user_available          broadcast, probes, waiting subscription requests
//   unset_presence          unavailable broadcast, to directed-presence entities too
//   session_closed          forgets the session's presence state

import { defineModule } from '../../server/core/registry.ts';
import { STOP, type Hooks } from '../../server/core/hooks.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { NS_ROSTER } from '../../server/ns.ts';
import { Element } from '../../server/xml/element.ts';

const NS_ROSTER_VER = 'urn:xmpp:features:rosterver';
const NS_PRE_APPROVAL = 'urn:xmpp:features:pre-approval';
import { HostRoster } from './host-roster.ts';
import { PresenceTracker } from './presence.ts';
import { rosterIqHandler } from './roster-iq.ts';
import { Subscriptions, subscriptionType } from './subscriptions.ts';

const schema = s.object({
  /** XEP-0237 roster versioning. */
  versioning: s.bool().default(true),
  /** RFC 6121 §3.4 subscription pre-approval. */
  pre_approval: s.bool().default(true),
  /** Most items one roster may hold; a roster set adding more is refused with not-allowed. */
  max_items: s.int({ min: 1 }).default(1000),
  max_name_length: s.int({ min: 1 }).default(1023),
  max_group_length: s.int({ min: 1 }).default(1023),
  max_groups: s.int({ min: 0 }).default(64),
  /** Roster and presence work waiting per user before new work is refused (rule 10). */
  max_queued_per_user: s.int({ min: 1 }).default(1000),
});

type Options = Infer<typeof schema>;

/** Running hosts per core (keyed by its Hooks), for tests that wait until queued work has finished. */
const running = new WeakMap<Hooks, Map<string, HostRoster>>();

export const modRoster = defineModule<Options>({
  name: 'mod_roster',
  xeps: ['RFC 6121', 'XEP-0237'],
  defaults: schema.parse({}, ['modules', 'mod_roster']),
  schema,
  start(host, opts, ctx) {
    const roster = new HostRoster(ctx, opts);
    const presence = new PresenceTracker(roster);
    const subs = new Subscriptions(roster, presence);
    let hosts = running.get(ctx.hooks);
    if (hosts === undefined) running.set(ctx.hooks, (hosts = new Map()));
    hosts.set(host, roster);
    ctx.onStop(() => {
      if (hosts.get(host) === roster) hosts.delete(host);
    });

    ctx.addFeature(NS_ROSTER);
    ctx.addIqHandler('sm', NS_ROSTER, 'query', rosterIqHandler(roster, subs));
    // RFC 6121 §3.4.1 and XEP-0237 §2: clients learn about pre-approval and roster
    // versioning from stream features after authentication.
    ctx.addHook('c2s_stream_features', ({ authenticated, features }) => {
      if (!authenticated) return;
      if (opts.versioning) features.push(new Element('ver', { xmlns: NS_ROSTER_VER }));
      if (opts.pre_approval) features.push(new Element('sub', { xmlns: NS_PRE_APPROVAL }));
    });

    ctx.addHook('user_send_packet', ({ session, packet }) => {
      if (packet.kind !== 'presence') return;
      const type = subscriptionType(packet.type);
      if (type === undefined) {
        presence.onSend(session, packet);
        return;
      }
      if (packet.element().attrs.to === undefined) return STOP; // a subscription needs a contact
      const user = session.jid.bare();
      const contact = packet.to.bare();
      if (contact.equals(user)) return STOP;
      packet.detach();
      const queued = roster.run(user, 'outbound_subscription', () => subs.outbound(user, contact, type, packet));
      if (!queued) ctx.router.bounce(packet, 'resource-constraint');
      return STOP;
    }, 40);

    ctx.addHook('roster_in_subscription', ({ packet, to }) => {
      const type = subscriptionType(packet.type);
      if (type === undefined) return;
      packet.detach();
      const user = to.bare();
      if (!roster.run(user, 'inbound_subscription', () => subs.inbound(user, packet.from, type, packet))) {
        ctx.router.bounce(packet, 'resource-constraint');
      }
      return STOP;
    });

    ctx.addHook('presence_probe', ({ packet, to }) => {
      presence.onProbe(packet, to);
      return STOP;
    });
    ctx.addHook('user_available', ({ session, presence: p }) => presence.onAvailable(session, p));
    ctx.addHook('unset_presence', ({ session }) => presence.onUnavailable(session));
    ctx.addHook('session_closed', ({ session }) => presence.forget(session));
  },
});

/** Resolves when the roster work queued so far on a host has finished (tests). */
export async function rosterIdle(hooks: Hooks, host: string): Promise<void> {
  await running.get(hooks)?.get(host)?.queues.idle();
}
