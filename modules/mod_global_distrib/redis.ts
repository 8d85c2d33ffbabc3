// The routing table's Redis connection: one ioredis client (standalone or Redis Cluster)
// from an [outgoing_pools.redis.<tag>] pool, with the bounds security rule 10 asks for.
//
//   - Every command times out (commandTimeout): a stopped Redis answers nothing, and a
//     caller must not wait forever.
//   - While disconnected, ioredis queues commands (enableOfflineQueue). That queue has no
//     bound of its own, so we count the commands we issued and not yet settled and refuse
//     new ones beyond max_pending_commands: a refusal is an error the caller turns into
//     queue-or-bounce, never a block.
//   - onReady runs each time the connection is (re)established, so the module can publish
//     its sessions again into a Redis that restarted empty.

import { Cluster, Redis } from 'ioredis';
import type { RedisPoolConfig } from '../../server/config/meerkat-schema.ts';

/** The commands the routing table uses; both Redis and Cluster provide them. */
export type RedisClient = Redis | Cluster;

export class RedisOverloadError extends Error {
  constructor(pending: number) {
    super(`${pending} Redis commands pending: refusing more until Redis answers`);
    this.name = 'RedisOverloadError';
  }
}

export interface BoundedRedisOptions {
  maxPending: number;
  /** Called with each command's duration in seconds. */
  observeLatency?: (seconds: number) => void;
  onReady?: () => void;
  onError?: (err: Error) => void;
}

export class BoundedRedis {
  readonly client: RedisClient;
  private pending = 0;
  private readonly maxPending: number;
  private readonly observe: ((seconds: number) => void) | undefined;

  constructor(client: RedisClient, options: BoundedRedisOptions) {
    this.client = client;
    this.maxPending = options.maxPending;
    this.observe = options.observeLatency;
    if (options.onReady) client.on('ready', options.onReady);
    // Without an 'error' listener ioredis logs every failed reconnect to the console.
    client.on('error', (err: Error) => options.onError?.(err));
  }

  get pendingCommands(): number {
    return this.pending;
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Runs one operation (a command, a pipeline) against the client, counted against the bound. */
  async run<T>(op: (client: RedisClient) => Promise<T>): Promise<T> {
    if (this.pending >= this.maxPending) throw new RedisOverloadError(this.pending);
    this.pending++;
    const started = performance.now();
    try {
      return await op(this.client);
    } finally {
      this.pending--;
      this.observe?.((performance.now() - started) / 1000);
    }
  }

  async quit(): Promise<void> {
    this.client.removeAllListeners('ready');
    try {
      await Promise.race([this.client.quit(), new Promise((resolve) => setTimeout(resolve, 500))]);
    } catch {
      // already closed
    }
    this.client.disconnect();
  }
}

/** An ioredis client for a configured pool. */
export function createRedisClient(pool: RedisPoolConfig): RedisClient {
  const common = {
    username: pool.username,
    password: pool.password,
    tls: pool.tls ? {} : undefined,
    connectTimeout: pool.connect_timeout,
    commandTimeout: pool.command_timeout,
    enableOfflineQueue: true,
    // A command is not retried on another connection: it times out and the caller decides.
    maxRetriesPerRequest: 1,
    // Reconnect forever, at most once a second: Redis coming back must be noticed.
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    lazyConnect: false,
  };
  if (pool.cluster_nodes !== undefined) {
    const nodes = pool.cluster_nodes.map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(hp.slice(i + 1)) };
    });
    return new Cluster(nodes, {
      redisOptions: common,
      enableOfflineQueue: true,
      clusterRetryStrategy: (times: number) => Math.min(50 * times, 1000),
      slotsRefreshTimeout: pool.connect_timeout,
    });
  }
  return new Redis({ ...common, host: pool.host, port: pool.port, db: pool.database });
}
