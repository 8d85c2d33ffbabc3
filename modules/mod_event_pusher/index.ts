// mod_event_pusher: tells something outside the server that a user got a message they cannot
// see now. Two backends, as in MongooseIM:
//
//   push  XEP-0357, the "XMPP server" role. Clients enable and disable registrations with
//         IQs to their own account; a message with a body for a user with no reachable
//         session is summarized (urn:xmpp:push:summary) and published to each registered
//         app server's pubsub node. See publisher.ts for what keeps this loop-free.
//   http  a JSON webhook POSTed for the same events (http-sender.ts).
//
// When does a message ask for a push (chat, normal or untyped, with a <body/>)?
//   - offline_message: no available resource. Runs at priority 40, before mod_offline (50),
//     and never stops the chain: the message is still stored.
//   - user_receive_packet: delivered, but only to sessions that cannot show it (CSI-inactive
//     or SM-hibernated, see reachability.ts) and the user has no reachable session. Once per
//     message even when it goes to several such sessions.
// Available presence with a non-negative priority resets the unread count.

import { defineModule } from '../../server/core/registry.ts';
import type { Hooks } from '../../server/core/hooks.ts';
import { STOP } from '../../server/core/hooks.ts';
import type { Packet } from '../../server/core/packet.ts';
import type { Session } from '../../server/core/sessions.ts';
import { tryParseJid, type Jid } from '../../server/jid.ts';
import { StanzaError } from '../../server/errors.ts';
import { NS_PUSH } from '../../server/ns.ts';
import type { Element } from '../../server/xml/element.ts';
import { eventPusherSchema, pushSchema, type EventPusherOptions, type HttpOptions } from './config.ts';
import { parseDisable, parseEnable } from './enable-iq.ts';
import { newPushStats, PushPublisher, type PushStats } from './publisher.ts';
import { Reachability } from './reachability.ts';
import { RegistrationStore, type Registration } from './registrations.ts';
import { WebhookSender, type WebhookStats } from './http-sender.ts';
import type { Metrics } from '../../server/metrics.ts';

/** What tests and operators can look at on a running host. */
export interface EventPusherState {
  readonly push: { readonly stats: PushStats; readonly publisher: PushPublisher; registrations(user: Jid): Promise<readonly Registration[]> } | undefined;
  readonly http: { readonly stats: WebhookStats; readonly sender: WebhookSender } | undefined;
  /** Resolves when queued pushes and webhook events have been handed on. */
  idle(): Promise<void>;
}

const running = new WeakMap<Hooks, Map<string, EventPusherState>>();

export function eventPusherState(hooks: Hooks, host: string): EventPusherState | undefined {
  return running.get(hooks)?.get(host);
}

/** Push and webhook counters on /metrics, summed over the hosts running the module. */
function publishMetrics(metrics: Metrics, hosts: Map<string, EventPusherState>): void {
  const sum = (read: (s: EventPusherState) => number | undefined) => () => {
    let n = 0;
    for (const state of hosts.values()) n += read(state) ?? 0;
    return n;
  };
  metrics.counterFrom('push_triggered_total', sum((s) => s.push?.stats.triggered));
  metrics.counterFrom('push_published_total', sum((s) => s.push?.stats.published));
  metrics.counterFrom('push_error_answers_total', sum((s) => s.push?.stats.errors));
  metrics.counterFrom('push_timeouts_total', sum((s) => s.push?.stats.timeouts));
  metrics.counterFrom('push_registrations_disabled_total', sum((s) => s.push?.stats.disabled));
  metrics.counterFrom('push_stray_answers_total', sum((s) => s.push?.stats.strayAnswers));
  metrics.counterFrom('push_dropped_total', sum((s) => (s.push ? s.push.stats.droppedQueueFull + s.push.stats.droppedPendingFull : 0)));
  metrics.counterFrom('webhook_sent_total', sum((s) => s.http?.stats.sent));
  metrics.counterFrom('webhook_failed_total', sum((s) => s.http?.stats.failed));
  metrics.counterFrom('webhook_dropped_total', sum((s) => s.http?.stats.dropped));
}

const PUSHABLE_TYPES = new Set(['chat', 'normal']);

/** A message worth a notification: chat/normal/untyped with a body. */
function bodyOf(packet: Packet): string | undefined {
  if (packet.kind !== 'message') return undefined;
  if (packet.type !== undefined && !PUSHABLE_TYPES.has(packet.type)) return undefined;
  return packet.element().getChildText('body');
}

/** Worker notice: an account's push registrations changed (data: the bare JID). */
const REGISTRATIONS_CHANGED = 'push_registrations_changed';

export const modEventPusher = defineModule<EventPusherOptions>({
  name: 'mod_event_pusher',
  xeps: ['XEP-0357'],
  defaults: eventPusherSchema.parse({}, ['modules', 'mod_event_pusher']),
  schema: eventPusherSchema,
  start(host, configured, ctx) {
    // No backend table: the push backend with its defaults.
    const pushOpts = configured.push ?? (configured.http === undefined ? pushSchema.parse({}, ['modules', 'mod_event_pusher', 'push']) : undefined);
    const httpOpts: HttpOptions | undefined = configured.http;
    const reachability = new Reachability();
    const stats = newPushStats();
    const registrations = pushOpts === undefined ? undefined : new RegistrationStore(ctx.storage.kv, host, pushOpts.max_registrations_per_user, pushOpts.max_tracked_users);
    const publisher = registrations === undefined || pushOpts === undefined
      ? undefined
      : new PushPublisher({ route: (p) => ctx.route(p), registrations, options: pushOpts, logger: ctx.logger, stats });
    const webhook = httpOpts === undefined ? undefined : new WebhookSender(httpOpts, ctx.logger);

    const state: EventPusherState = {
      push: publisher === undefined || registrations === undefined ? undefined : { stats, publisher, registrations: (u) => registrations.list(u) },
      http: webhook === undefined ? undefined : { stats: webhook.stats, sender: webhook },
      async idle() {
        await publisher?.idle();
        await webhook?.idle();
      },
    };
    let hosts = running.get(ctx.hooks);
    if (hosts === undefined) running.set(ctx.hooks, (hosts = new Map()));
    hosts.set(host, state);
    publishMetrics(ctx.metrics, hosts);
    ctx.onStop(() => {
      publisher?.stop();
      webhook?.stop();
      if (hosts.get(host) === state) hosts.delete(host);
    });

    const notify = (packet: Packet, user: Jid, body: string): void => {
      publisher?.notify(user, packet.from, body, packet.hops);
      webhook?.send({
        event: 'message',
        host,
        to: user.bare().toString(),
        from: packet.from.toString(),
        ...(httpOpts?.include_body ? { body } : {}),
        timestamp: new Date().toISOString(),
      });
    };

    // --- triggers
    ctx.addHook('offline_message', ({ packet, to }) => {
      const body = bodyOf(packet);
      if (body !== undefined) notify(packet, to, body);
    }, 40);

    // Messages shared by several deliveries (bare-JID fan-out) push once.
    const seen = new WeakSet<Element>();
    ctx.addHook('user_receive_packet', ({ session, packet }) => {
      if (packet.kind !== 'message' || reachability.reachable(session)) return;
      const body = bodyOf(packet);
      if (body === undefined) return;
      const el = packet.element();
      if (seen.has(el)) return;
      seen.add(el);
      const user = session.jid.bare();
      if (ctx.sessions.resources(user).some((s: Session) => reachability.reachable(s))) return;
      notify(packet, user, body);
    }, 80);

    ctx.addHook('c2s_stream_element', ({ session, element }) => { reachability.observe(session, element); }, 10);
    ctx.addHook('session_closed', ({ session }) => reachability.forget(session));
    ctx.addHook('user_available', ({ session }) => {
      if (session.priority >= 0) publisher?.resetCount(session.jid);
    });

    if (publisher === undefined || registrations === undefined || pushOpts === undefined) return;

    // --- answers to our publishes, before anything else sees them
    ctx.addHook('filter_local_packet', ({ packet }) => (publisher.takeAnswer(packet) ? STOP : undefined), 5);

    // XEP-0357 §5: the account's disco#info says push can be enabled.
    ctx.addHook('disco_sm_features', ({ features }) => { features.push(NS_PUSH); });

    ctx.addHook('remove_user', ({ jid }) => {
      registrations.forget(jid);
      ctx.notifyWorkers(REGISTRATIONS_CHANGED, jid.bare().toString());
    });
    // Registrations changed through another worker of the node: read them again when needed.
    ctx.onWorkerNotice(REGISTRATIONS_CHANGED, (data) => {
      const user = tryParseJid(data);
      if (user !== undefined) registrations.forget(user);
    });

    // --- enable / disable (XEP-0357 §5), on the user's own account
    ctx.addIqHandler('sm', NS_PUSH, 'enable', async (req) => {
      if (req.type !== 'set') return new StanzaError('not-allowed', { text: 'enable is an IQ set' });
      if (!req.from.bare().equals(req.to.bare())) return new StanzaError('forbidden');
      const parsed = parseEnable(req.payload);
      if (parsed instanceof StanzaError) return parsed;
      const registration: Registration = { ...parsed, resource: req.from.resource, createdAt: new Date().toISOString() };
      const result = await registrations.enable(req.to.bare(), registration);
      if (result === 'enabled') ctx.notifyWorkers(REGISTRATIONS_CHANGED, req.to.bare().toString());
      if (result === 'limit') return new StanzaError('resource-constraint', { text: `at most ${pushOpts.max_registrations_per_user} push registrations` });
      ctx.logger.info('push_enabled', { user: req.to.bare().toString(), service: parsed.service });
      return null;
    });

    ctx.addIqHandler('sm', NS_PUSH, 'disable', async (req) => {
      if (req.type !== 'set') return new StanzaError('not-allowed', { text: 'disable is an IQ set' });
      if (!req.from.bare().equals(req.to.bare())) return new StanzaError('forbidden');
      const parsed = parseDisable(req.payload);
      if (parsed instanceof StanzaError) return parsed;
      if ((await registrations.disable(req.to.bare(), parsed.service, parsed.node)) > 0) ctx.notifyWorkers(REGISTRATIONS_CHANGED, req.to.bare().toString());
      return null;
    });
  },
});
