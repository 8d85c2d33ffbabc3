// mod_global_distrib: one XMPP service across clusters in several data centres. Users of the
// global host may be connected to any cluster; a sender need not know where the recipient is.
//
//   routing table (Redis, ./routing-table.ts)   JID → cluster, domains → cluster, endpoints, heartbeats
//   links (./inbound.ts, ./outbound.ts)         our framing over mutual TLS, acknowledged, resent
//   distributor (./distributor.ts)              filter_local_packet: forward, hold, or local rules
//   hold queues (./hold-queue.ts)               recipients not known yet: retried, then answered
//
// The module runs for the global host only (other hosts of the node are untouched). Its Redis
// pool is [outgoing_pools.redis.<redis_pool>]. Redis being slow or gone never blocks local
// traffic: sessions here are found in the session table, and only stanzas for recipients
// elsewhere wait on Redis, in bounded queues with deadlines. When Redis comes back (possibly
// empty), every cluster writes its sessions, endpoints and domains again.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { defineModule } from '../../server/core/registry.ts';
import { STOP } from '../../server/core/hooks.ts';
import type { RouteTarget } from '../../server/core/router.ts';
import { adminNodeOf } from '../../server/admin/node.ts';
import type { RedisPoolConfig } from '../../server/config/meerkat-schema.ts';
import { schema, type GlobalDistribOptions } from './options.ts';
import { BoundedRedis, createRedisClient } from './redis.ts';
import { RoutingTable, type RemoteDomain } from './routing-table.ts';
import { loadLinkTls } from './link-tls.ts';
import { InboundLinks } from './inbound.ts';
import { Distributor } from './distributor.ts';
import { gdMetrics } from './metrics.ts';

// Runs after mod_blocking (20), so the sender's cluster applies its block lists, and before
// mod_mam and mod_inbox (50), so a stanza is archived on the cluster that delivers it.
const FILTER_PRIORITY = 25;

export const modGlobalDistrib = defineModule<GlobalDistribOptions>({
  name: 'mod_global_distrib',
  // MongooseIM's Global Distribution has no XEP.
  xeps: [],
  // Only used if another module named this one as a dependency: it has no useful defaults
  // (global_host, local_host and endpoints must be configured), so it would fail to bind.
  defaults: schema.parse({ global_host: 'localhost', local_host: 'unconfigured', connections: { endpoints: ['127.0.0.1:5555'], tls: { enabled: false } } }),
  schema,
  async start(host, opts, ctx) {
    if (host !== opts.global_host) return;
    const admin = adminNodeOf(ctx.hooks);
    const pool: RedisPoolConfig | undefined = admin?.config.outgoing_pools.redis[opts.redis_pool];
    if (pool === undefined) throw new Error(`needs [outgoing_pools.redis.${opts.redis_pool}] for its routing table`);
    const log = ctx.logger;
    const tls = await loadLinkTls(opts.connections.tls, opts.local_host);
    const boot = randomBytes(8).toString('hex');
    const node = `${hostname()}-${process.pid}-${boot.slice(0, 4)}`;
    const advertised = opts.connections.advertised_endpoints ?? opts.connections.endpoints;

    let distributor: Distributor | undefined;
    let redis: BoundedRedis | undefined;
    const metrics = gdMetrics(admin?.metrics, {
      heldStanzas: () => distributor?.held.size ?? 0,
      linkConnections: () => Object.fromEntries([...(distributor?.peers.values() ?? [])].map((l) => [l.peer, l.openConnections])),
      pendingPerPeer: () => Object.fromEntries([...(distributor?.peers.values() ?? [])].map((l) => [l.peer, l.pending])),
      redisPending: () => redis?.pendingCommands ?? 0,
    });

    let localDomains = new Map<string, boolean>();
    let remoteDomains = new Map<string, RemoteDomain>();
    const republish = (): void => {
      void table.publishCluster(node, advertised, localDomains).catch(redisFailed('gd_publish_failed'));
      for (const session of ctx.sessions.all()) {
        if (session.jid.domain === host) void table.addSession(session.jid).catch(redisFailed('gd_session_write_failed'));
      }
    };
    let lastErrorLog = 0;
    const redisFailed = (what: string) => (err: unknown): void => {
      metrics.redisError();
      // One line per ten seconds at most: an outage must not flood the log.
      if (Date.now() - lastErrorLog < 10_000) return;
      lastErrorLog = Date.now();
      log.warn(what, { error: err });
    };

    redis = new BoundedRedis(createRedisClient(pool), {
      maxPending: opts.redis.max_pending_commands,
      observeLatency: metrics.redisLatency,
      onReady: () => {
        log.info('gd_redis_ready', {});
        republish();
        distributor?.held.wakeAll();
      },
      onError: (err) => redisFailed('gd_redis_error')(err),
    });
    const table = new RoutingTable(redis, opts.local_host, opts.expire_after);
    distributor = new Distributor({ opts, router: ctx.router, sessions: ctx.sessions, table, tls, boot, log, metrics });
    const d = distributor;

    const inbound = new InboundLinks({
      endpoints: opts.connections.endpoints,
      tls,
      log,
      onStanza: (packet, frame) => d.receive(packet, frame),
      onIdentityMismatch: () => metrics.identityMismatch('inbound'),
    });
    try {
      await inbound.start();
    } catch (err) {
      await redis.quit();
      throw err;
    }

    ctx.addHook('filter_local_packet', ({ packet }) => (d.take(packet) ? STOP : undefined), FILTER_PRIORITY);
    ctx.addHook('session_opened', ({ session }) => {
      d.sessionOpened(session.jid);
      table.addSession(session.jid).catch(redisFailed('gd_session_write_failed'));
    });
    ctx.addHook('session_closed', ({ session }) => {
      const last = ctx.sessions.resources(session.jid).length === 0;
      table.removeSession(session.jid, last).catch(redisFailed('gd_session_remove_failed'));
    });

    // Components connected to another cluster: reachable, and listed in disco unless hidden.
    const removeResolver = ctx.router.addRemoteResolver((domain): RouteTarget | undefined => {
      const remote = remoteDomains.get(domain);
      if (remote === undefined) return undefined;
      return { route: (packet) => d.forwardToDomain(packet, remote.cluster) };
    });
    ctx.onStop(removeResolver);
    ctx.addHook('disco_local_items', ({ node: discoNode, items }) => {
      if (discoNode !== '') return;
      for (const [domain, { hidden }] of remoteDomains) {
        if (localDomains.has(domain)) continue;
        items.push(hidden ? { jid: domain, hidden } : { jid: domain });
      }
    });

    const readDomains = (): void => {
      const mine = new Map<string, boolean>();
      for (const c of admin?.components() ?? []) for (const domain of c.domains) mine.set(domain, c.hidden);
      if (!sameDomains(mine, localDomains)) {
        localDomains = mine;
        table.publishCluster(node, advertised, localDomains).catch(redisFailed('gd_publish_failed'));
      }
      table.remoteDomains().then((found) => { remoteDomains = found; }, redisFailed('gd_domains_read_failed'));
    };

    const timers = [
      setInterval(republish, opts.refresh_after),
      setInterval(readDomains, opts.cache.domain_refresh),
      setInterval(() => d.expireLinks(), Math.max(50, Math.min(500, opts.connections.delivery_timeout / 4))),
    ];
    for (const t of timers) t.unref?.();
    readDomains();

    ctx.onStop(() => {
      for (const t of timers) clearInterval(t);
      inbound.stop();
      d.stop();
      // Not awaited (cleanups are synchronous): QUIT goes after the commands already queued,
      // such as the removals of the sessions the shutdown just closed.
      void table.unpublishCluster(node).catch(() => {}).then(() => redis!.quit());
    });
    log.info('gd_started', { cluster: opts.local_host, endpoints: opts.connections.endpoints, advertised, tls: tls !== undefined });
  },
});

function sameDomains(a: ReadonlyMap<string, boolean>, b: ReadonlyMap<string, boolean>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
