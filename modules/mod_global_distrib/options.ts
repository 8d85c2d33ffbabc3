// mod_global_distrib's options: [modules.mod_global_distrib] and its sub-tables.

import { s, type Infer } from '../../server/config/schema.ts';
import { domainName, name } from '../../server/config/common.ts';

const hostPort = () =>
  s.string({ pattern: /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, what: 'a "host:port" address' });

// Cluster names end up in Redis values, link hellos and metric labels: keep them plain.
const clusterName = () => s.string({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, what: 'a cluster name of letters, digits, ".", "_" or "-"' });

export const schema = s.object({
  /** The domain every cluster serves (it must be one of [general] hosts). */
  global_host: domainName(),
  /** This cluster's own name, unique among the clusters sharing the routing table. */
  local_host: clusterName(),
  /** Hops a stanza may still take between clusters; at 0 it is delivered where it is. */
  message_ttl: s.int({ min: 0, max: 255 }).default(4),
  /** Name of the [outgoing_pools.redis.<tag>] pool holding the routing table. */
  redis_pool: name().default('global_distrib'),
  connections: s.object({
    /** Where this cluster accepts links from other clusters. */
    endpoints: s.array(hostPort(), { minLength: 1, unique: true }),
    /** What the other clusters are told to connect to (a proxy or NAT address); the endpoints when unset. */
    advertised_endpoints: s.array(hostPort(), { minLength: 1, unique: true }).optional(),
    /** Connections kept to each peer cluster; one sender's stanzas to one recipient always use the same one. */
    connections_per_endpoint: s.int({ min: 1, max: 64 }).default(2),
    /** A stanza a peer has not acknowledged within this time is returned to its sender. */
    delivery_timeout: s.duration({ min: 1 }).default('10s'),
    /** Stanzas waiting for one peer (unacknowledged or not yet sent); beyond it new ones bounce at once. */
    max_pending_per_peer: s.int({ min: 1 }).default(100_000),
    tls: s.object({
      /** Mutual TLS between clusters; false sends stanzas in the clear (trusted networks only). */
      enabled: s.bool().default(true),
      certfile: s.path().optional(),
      keyfile: s.path().optional(),
      /** CA that signed every cluster's certificate; peers with another certificate are refused. */
      cafile: s.path().optional(),
      /** Certificate presented when dialling a peer (needs clientAuth); certfile when unset. */
      client_certfile: s.path().optional(),
      client_keyfile: s.path().optional(),
    }).default({}),
  }),
  /** How often this cluster rewrites its routing-table entries and heartbeat. */
  refresh_after: s.duration({ min: 1 }).default('60s'),
  /** Entries not rewritten within this time disappear (a cluster that died). */
  expire_after: s.duration({ min: 1 }).default('120s'),
  bounce: s.object({
    /** Messages for a recipient not (yet) known anywhere are held and looked up again this often. */
    resend_after_ms: s.int({ min: 1 }).default(200),
    max_retries: s.int({ min: 0 }).default(4),
    /** Stanzas held in all recipient queues together; beyond it new ones are refused at once. */
    max_queued: s.int({ min: 1 }).default(10_000),
  }).default({}),
  cache: s.object({
    /** How long a JID → cluster answer is reused without asking Redis again. */
    jid_ttl: s.duration({ min: 1 }).default('5s'),
    /** How often the table of domains (components) served by other clusters is read again. */
    domain_refresh: s.duration({ min: 1 }).default('5s'),
  }).default({}),
  redis: s.object({
    /** Redis commands in flight or queued while disconnected; beyond it lookups fail at once. */
    max_pending_commands: s.int({ min: 1 }).default(10_000),
  }).default({}),
});

export type GlobalDistribOptions = Infer<typeof schema>;
