// The top-level layout of meerkat.toml. Module and service tables are kept raw here and
// validated by each module's own schema when it starts.

import { s, type Infer } from './schema.ts';
import { domainName, nameOptions, port } from './common.ts';
import { listenSchema } from './listen.ts';
import { accessSchema, aclSchema } from './access.ts';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'none'] as const;

export const generalSchema = s.object({
  hosts: s.array(domainName(), { minLength: 1, unique: true }).default(['localhost']),
  /** The host used when a command or listener needs one; the first host when unset. */
  default_server_domain: domainName().optional(),
  loglevel: s.enumOf(LOG_LEVELS).default('info'),
  data_dir: s.path().default('./var'),
  /**
   * Bytes written to one client but not yet taken by it; past this the stream is closed
   * with policy-violation (a reader too slow for what it is sent; rule 10).
   */
  max_outbound_bytes: s.int({ min: 65536 }).default(4 * 1024 * 1024),
  language: s.string({ pattern: /^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, what: 'a language tag such as "en"' }).default('en'),
  /**
   * Worker processes of this node (server/cluster/, docs/workers.md): more than 1 runs a
   * supervisor that starts that many, sharing the c2s ports and their sessions.
   */
  workers: s.int({ min: 1, max: 256 }).default(1),
}).default({});

/**
 * Modules that run when the file has no [modules] table (the embedded default). A file with
 * a [modules] table runs exactly the modules it lists.
 */
export const DEFAULT_MODULES: Record<string, Record<string, never>> = {
  mod_ping: {},
  mod_version: {},
  mod_last: {},
  mod_vcard: {},
  mod_private: {},
  mod_carboncopy: {},
  mod_blocking: {},
  mod_csi: {},
  mod_stream_management: {},
  mod_roster: {},
  mod_offline: {},
  mod_disco: {},
};

/** Services that run when the file has no [services] table. */
export const DEFAULT_SERVICES: Record<string, Record<string, never>> = {
  service_admin_extra: {},
};

export const SASL_MECHANISMS = [
  'SCRAM-SHA-512-PLUS', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-512', 'SCRAM-SHA-256', 'SCRAM-SHA-1',
  'PLAIN', 'EXTERNAL',
] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export const SCRAM_HASHES = ['SHA-1', 'SHA-256', 'SHA-512'] as const;

export const authSchema = s.object({
  methods: s.array(s.enumOf(['internal']), { minLength: 1, unique: true }).default(['internal']),
  sasl_mechanisms: s.array(s.enumOf(SASL_MECHANISMS), { minLength: 1, unique: true })
    .default(SASL_MECHANISMS.filter((m) => m !== 'EXTERNAL')),
  /** How SASL EXTERNAL takes the identity from a client certificate, in order of preference (XEP-0178). */
  sasl_external: s.array(s.enumOf(['standard', 'common_name', 'auth_id']), { minLength: 1, unique: true }).default(['standard']),
  external: s.object({
    /** common_name: the CN must start with this; the rest is the username. */
    common_name_prefix: s.string({ nonEmpty: false }).default(''),
    /** common_name: the CN must end with this; what precedes it is the username. */
    common_name_suffix: s.string({ nonEmpty: false }).default(''),
    /** Refuse certificate identities that have no account (false: any identity the certificate proves may log in). */
    user_must_exist: s.bool().default(true),
  }).default({}),
  password: s.object({
    // Only SCRAM: passwords are never stored in a form that can be read back.
    format: s.enumOf(['scram']).default('scram'),
    hashes: s.array(s.enumOf(SCRAM_HASHES), { minLength: 1, unique: true }).default([...SCRAM_HASHES]),
    // RFC 7677 asks for at least 4096; the cap keeps a typo from making each login take minutes.
    scram_iterations: s.int({ min: 4096, max: 10_000_000 }).default(10000),
  }).default({}),
}).default({});

export const SQLITE_SYNCHRONOUS = ['normal', 'full'] as const;

export const storageSchema = s.object({
  backend: s.enumOf(['sqlite']).default('sqlite'),
  sqlite: s.object({
    /** Defaults to <data_dir>/meerkat.sqlite3. */
    path: s.path().optional(),
    synchronous: s.enumOf(SQLITE_SYNCHRONOUS).default('normal'),
    busy_timeout: s.duration().default('5s'),
  }).default({}),
}).default({});

const hostPort = () =>
  s.string({ pattern: /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/, what: 'a "host:port" address' });

export const redisPoolSchema = s.object({
  host: s.string().default('127.0.0.1'),
  port: port().default(6379),
  database: s.int({ min: 0 }).default(0),
  username: s.string().optional(),
  password: s.string().optional(),
  /** Redis Cluster seed nodes; when set, host and port are not used. */
  cluster_nodes: s.array(hostPort(), { minLength: 1, unique: true }).optional(),
  tls: s.bool().default(false),
  connect_timeout: s.duration().default('5s'),
  command_timeout: s.duration().default('5s'),
});

export const shaperSchema = s.object({
  /** Bytes per second. */
  max_rate: s.int({ min: 1 }),
});

/**
 * [guard]: what protects the node from clients before they are trusted (server/guard/,
 * docs/security.md), on every entry point. Caps count c2s and component TCP connections,
 * BOSH sessions and WebSocket connections in the same counters.
 */
export const guardSchema = s.object({
  /** Open connections and BOSH sessions on this node; more are refused with resource-constraint. */
  max_connections: s.int({ min: 1 }).default(20000),
  /** Open connections and BOSH sessions from one IP address; more are refused with policy-violation. */
  max_connections_per_ip: s.int({ min: 1 }).default(64),
  /** SASL failures one connection may make before it is closed with policy-violation. */
  max_auth_failures: s.int({ min: 1 }).default(3),
  /** SASL failures (and wrong component handshakes) from one IP address within auth_failure_window that ban it… */
  auth_failures_per_ip: s.int({ min: 1 }).default(20),
  auth_failure_window: s.duration().default('60s'),
  /** …for this long: its new connections are refused with policy-violation. */
  ban_duration: s.duration().default('5m'),
  /** From connect until a bound session (a component: until its handshake); then connection-timeout. */
  preauth_timeout: s.duration().default('30s'),
  /** Before authentication, this long without a byte from the client ends the connection. */
  preauth_idle_timeout: s.duration().default('10s'),
  /**
   * Before authentication, the client must average at least this many bytes per second
   * since it connected (checked once preauth_idle_timeout has passed): a slow-loris client
   * trickling a byte every few seconds is cut. 0 turns the check off.
   */
  preauth_min_rate: s.int({ min: 0 }).default(16),
  /** Tracked IP addresses (failure windows and bans); the oldest are forgotten beyond it. */
  max_tracked_addresses: s.int({ min: 1 }).default(100000),
}).default({});

export const configSchema = s.object({
  general: generalSchema,
  listen: listenSchema,
  auth: authSchema,
  storage: storageSchema,
  // Without a [modules] table a small default set runs; a [modules] table lists every module wanted.
  modules: s.record(s.section(), { keyPattern: /^mod_[a-z0-9_]+$/, keyWhat: 'a module name such as mod_ping' }).default(DEFAULT_MODULES),
  // Without a [services] table the admin commands are available; a [services] table lists every service wanted.
  services: s.record(s.section(), { keyPattern: /^service_[a-z0-9_]+$/, keyWhat: 'a service name such as service_admin_extra' }).default(DEFAULT_SERVICES),
  outgoing_pools: s.object({
    redis: s.record(redisPoolSchema, nameOptions).default({}),
  }).default({}),
  shaper: s.record(shaperSchema, nameOptions).default({
    normal: { max_rate: 1000 },
    fast: { max_rate: 50000 },
  }),
  acl: aclSchema,
  access: accessSchema,
  guard: guardSchema,
});

export type ParsedConfig = Infer<typeof configSchema>;
export type GeneralConfig = Omit<ParsedConfig['general'], 'default_server_domain'> & {
  readonly default_server_domain: string;
};
export type AuthConfig = ParsedConfig['auth'];
export type StorageConfig = {
  readonly backend: ParsedConfig['storage']['backend'];
  readonly sqlite: Omit<ParsedConfig['storage']['sqlite'], 'path'> & { readonly path: string };
};
export type RedisPoolConfig = Infer<typeof redisPoolSchema>;
export type ShaperConfig = Infer<typeof shaperSchema>;
export type GuardConfig = Infer<typeof guardSchema>;

/** The validated, defaulted and frozen configuration. */
export type MeerkatConfig = Omit<ParsedConfig, 'general' | 'storage'> & {
  readonly general: GeneralConfig;
  readonly storage: StorageConfig;
  /** The file it was read from; undefined for the embedded defaults. */
  readonly file: string | undefined;
};
