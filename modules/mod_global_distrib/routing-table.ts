// The routing table in Redis: which cluster holds a JID, which domains (components) each
// cluster serves, where each cluster accepts links, and heartbeats. Every entry is written
// with an expiry and rewritten every refresh_after, so a cluster that dies leaves nothing
// behind for longer than expire_after.
//
// A closing session removes its entries only if they still name this cluster: the user may
// already have bound on another cluster, whose fresh entry must survive our late cleanup.
// GET-then-DEL would race; the comparison and the delete run as one Lua script.

import type { Jid } from '../../server/jid.ts';
import { bareKey, CLUSTERS_KEY, domainsKey, endpointsKey, fullKey, heartbeatKey } from './keys.ts';
import type { BoundedRedis } from './redis.ts';

const DELETE_IF_OWNED = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RemoteDomain {
  cluster: string;
  hidden: boolean;
}

export class RoutingTable {
  constructor(
    private readonly redis: BoundedRedis,
    /** This cluster's name (local_host). */
    readonly cluster: string,
    private readonly expireMs: number,
  ) {}

  /** Records that a session for `full` is bound on this cluster (its bare JID too). */
  async addSession(full: Jid): Promise<void> {
    const bare = full.bare().toString();
    await this.redis.run((c) => Promise.all([
      c.set(fullKey(bare, full.resource), this.cluster, 'PX', this.expireMs),
      c.set(bareKey(bare), this.cluster, 'PX', this.expireMs),
    ]));
  }

  /** Removes a closed session's entry, and its bare JID's when it was the last one here; only entries this cluster still owns. */
  async removeSession(full: Jid, lastOfUser: boolean): Promise<void> {
    const bare = full.bare().toString();
    await this.redis.run((c) => Promise.all([
      c.eval(DELETE_IF_OWNED, 1, fullKey(bare, full.resource), this.cluster),
      lastOfUser ? c.eval(DELETE_IF_OWNED, 1, bareKey(bare), this.cluster) : Promise.resolve(0),
    ]));
  }

  /**
   * The cluster holding a JID: for a full JID its own entry, else its bare JID's (RFC 6121
   * §8.5.3.2.1 treats a message to an unknown resource as one to the account). `exact`:
   * the full JID's own entry only.
   */
  async lookup(jid: Jid, exact = false): Promise<string | undefined> {
    const bare = jid.bare().toString();
    if (jid.resource === '') {
      const v = await this.redis.run((c) => c.get(bareKey(bare)));
      return v ?? undefined;
    }
    const [full, bareOwner] = await this.redis.run((c) => c.mget(fullKey(bare, jid.resource), bareKey(bare)));
    return full ?? (exact ? undefined : bareOwner) ?? undefined;
  }

  /** Writes this cluster's endpoints, heartbeat and domains. */
  async publishCluster(node: string, endpoints: readonly string[], domains: ReadonlyMap<string, boolean>): Promise<void> {
    const now = Date.now();
    const dKey = domainsKey(this.cluster);
    await this.redis.run(async (c) => {
      const writes: Promise<unknown>[] = [
        c.set(endpointsKey(this.cluster), JSON.stringify(endpoints), 'PX', this.expireMs),
        c.set(heartbeatKey(this.cluster, node), String(now), 'PX', this.expireMs),
        c.zadd(CLUSTERS_KEY, now, this.cluster),
      ];
      const tx = c.multi().del(dKey);
      if (domains.size > 0) {
        const fields: string[] = [];
        for (const [domain, hidden] of domains) fields.push(domain, hidden ? '1' : '0');
        tx.hset(dKey, ...fields).pexpire(dKey, this.expireMs);
      }
      writes.push(tx.exec());
      await Promise.all(writes);
    });
  }

  /** Removes this cluster's endpoints, heartbeat and domains (a clean stop). */
  async unpublishCluster(node: string): Promise<void> {
    await this.redis.run((c) => Promise.all([
      c.del(heartbeatKey(this.cluster, node)),
      c.del(domainsKey(this.cluster)),
      c.zrem(CLUSTERS_KEY, this.cluster),
    ]));
  }

  /** Where a cluster accepts links; empty when unknown or malformed. */
  async endpoints(cluster: string): Promise<string[]> {
    const raw = await this.redis.run((c) => c.get(endpointsKey(cluster)));
    if (raw === null) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      return Array.isArray(parsed) ? parsed.filter((e): e is string => typeof e === 'string' && /^[^\s]+:\d{1,5}$/.test(e)) : [];
    } catch {
      return [];
    }
  }

  /** Domains served by the other live clusters. */
  async remoteDomains(): Promise<Map<string, RemoteDomain>> {
    const since = Date.now() - this.expireMs;
    const clusters = await this.redis.run((c) => c.zrangebyscore(CLUSTERS_KEY, since, '+inf'));
    const out = new Map<string, RemoteDomain>();
    const tables = await Promise.all(clusters
      .filter((name) => name !== this.cluster)
      .map(async (name) => [name, await this.redis.run((c) => c.hgetall(domainsKey(name)))] as const));
    for (const [cluster, table] of tables) {
      for (const [domain, flag] of Object.entries(table)) out.set(domain, { cluster, hidden: flag === '1' });
    }
    return out;
  }
}
