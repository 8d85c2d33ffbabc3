// Push registrations (XEP-0357 §5): which app server and node to publish to for one account,
// with the publish-options the client gave. Several per account, one per (service, node):
// enabling the same pair again replaces its options.
//
// Stored in the key-value store (namespace 'push', per account), so they survive restarts and
// go when the account is removed. Reads are cached per account; every change goes through
// one chain per account, so an enable followed by a disable take effect in that order.

import type { KeyValueStore } from '../../server/storage/storage.ts';
import type { Jid } from '../../server/jid.ts';

export const KV_NAMESPACE = 'push';

export interface Registration {
  /** The app server's pubsub service. */
  readonly service: string;
  readonly node: string;
  /** publish-options fields (FORM_TYPE left out), in the order the client sent them. */
  readonly options: ReadonlyArray<readonly [string, readonly string[]]>;
  /** The resource that enabled it (informational: XEP-0357 ties a registration to the account). */
  readonly resource: string;
  readonly createdAt: string;
}

/** An unambiguous key for (service, node): neither part can forge the other (security rule 11). */
export function registrationKey(service: string, node: string): string {
  return JSON.stringify([service, node]);
}

export type EnableResult = 'enabled' | 'limit';

export class RegistrationStore {
  private readonly cache = new Map<string, readonly Registration[]>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** Counts forget() calls: a read under way when one happens may predate the change, and is not kept. */
  private forgets = 0;

  constructor(
    private readonly kv: KeyValueStore,
    private readonly host: string,
    private readonly maxPerUser: number,
    private readonly maxCachedUsers: number,
  ) {}

  /** The account's registrations. */
  list(user: Jid): Promise<readonly Registration[]> {
    return this.serial(user, () => this.load(user));
  }

  enable(user: Jid, registration: Registration): Promise<EnableResult> {
    return this.serial(user, async () => {
      const current = await this.load(user);
      const key = registrationKey(registration.service, registration.node);
      const others = current.filter((r) => registrationKey(r.service, r.node) !== key);
      if (others.length === current.length && current.length >= this.maxPerUser) return 'limit';
      await this.kv.set(this.host, user.local, KV_NAMESPACE, key, JSON.stringify(registration));
      this.remember(user, [...others, registration]);
      return 'enabled';
    });
  }

  /** Disables one node of a service, or every node of it when node is undefined. Returns how many went. */
  disable(user: Jid, service: string, node?: string): Promise<number> {
    return this.serial(user, async () => {
      const current = await this.load(user);
      const gone = current.filter((r) => r.service === service && (node === undefined || r.node === node));
      for (const r of gone) await this.kv.delete(this.host, user.local, KV_NAMESPACE, registrationKey(r.service, r.node));
      if (gone.length > 0) this.remember(user, current.filter((r) => !gone.includes(r)));
      return gone.length;
    });
  }

  /** Drops the cached copy (the account was removed, or another worker changed its rows). */
  forget(user: Jid): void {
    this.forgets++;
    this.cache.delete(user.bare().toString());
  }

  /** Accounts with a cached registration list (tests, bounds). */
  get cachedUsers(): number {
    return this.cache.size;
  }

  private async load(user: Jid): Promise<readonly Registration[]> {
    const cached = this.cache.get(user.bare().toString());
    if (cached !== undefined) return cached;
    const forgets = this.forgets;
    const entries = await this.kv.list(this.host, user.local, KV_NAMESPACE);
    const list: Registration[] = [];
    for (const e of entries) {
      const r = parseRegistration(e.value);
      if (r !== undefined) list.push(r);
    }
    if (forgets === this.forgets) this.remember(user, list);
    return list;
  }

  private remember(user: Jid, list: readonly Registration[]): void {
    const key = user.bare().toString();
    this.cache.delete(key);
    this.cache.set(key, list);
    // Oldest first in insertion order: a bounded cache, re-read from storage when needed.
    while (this.cache.size > this.maxCachedUsers) this.cache.delete(this.cache.keys().next().value!);
  }

  private serial<T>(user: Jid, task: () => Promise<T>): Promise<T> {
    const key = user.bare().toString();
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.then(() => undefined, () => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return next;
  }
}

function parseRegistration(text: string): Registration | undefined {
  try {
    const v = JSON.parse(text) as Partial<Registration>;
    if (typeof v.service !== 'string' || typeof v.node !== 'string' || !Array.isArray(v.options)) return undefined;
    return { service: v.service, node: v.node, options: v.options, resource: v.resource ?? '', createdAt: v.createdAt ?? '' };
  } catch {
    return undefined;
  }
}
