// Recent answers to "which cluster holds this JID", kept for jid_ttl so a conversation does
// not ask Redis for every stanza. Two sources: Redis lookups, and stanzas arriving from
// another cluster (their sender is on the origin cluster, so a reply can go straight back
// before that cluster's Redis write is visible). Bounded: the oldest entries go first.

import type { Jid } from '../../server/jid.ts';

interface Entry {
  cluster: string;
  expires: number;
}

export class JidCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cluster for a JID: its own entry, else (for a full JID) its bare JID's. */
  get(jid: Jid): string | undefined {
    const own = this.read(jid.toString());
    if (own !== undefined || jid.resource === '') return own;
    return this.read(jid.bare().toString());
  }

  /** Only this JID's own entry (no bare-JID fallback). */
  getExact(jid: Jid): string | undefined {
    return this.read(jid.toString());
  }

  set(jid: Jid, cluster: string): void {
    this.write(jid.toString(), cluster);
  }

  /** A stanza from `jid` arrived from `cluster`: its full and bare JID are there. */
  learn(jid: Jid, cluster: string): void {
    this.write(jid.toString(), cluster);
    if (jid.resource !== '') this.write(jid.bare().toString(), cluster);
  }

  forget(jid: Jid): void {
    this.entries.delete(jid.toString());
    this.entries.delete(jid.bare().toString());
  }

  get size(): number {
    return this.entries.size;
  }

  private read(key: string): string | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.cluster;
  }

  private write(key: string, cluster: string): void {
    const e = this.entries.get(key);
    const expires = this.now() + this.ttlMs;
    if (e !== undefined) {
      e.cluster = cluster;
      e.expires = expires;
      return;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { cluster, expires });
  }
}
