// The rosters and pending subscription requests of recently read users, for the SQLite
// roster store. One session reads its user's roster several times (a roster fetch, initial
// presence, the unavailable broadcast at the end) and a reconnecting user reads it again;
// a cached read costs one `PRAGMA data_version` instead of the queries and row decoding.
//
// Staying correct:
//   - every write the store makes drops the user's entry before it writes;
//   - another connection's commit (another worker process of the node, meerkatctl) changes
//     SQLite's data_version, which is read before every cached answer: then everything is
//     dropped. Writes of this connection do not change it, and need not (see above);
//   - an entry is stored only after the data_version it was read under was checked, so a
//     commit in between is seen at the next read.
// Bounded by the rows held (least recently used entries go first). Readers get copies of
// the arrays; the items themselves are read-only records.

import type { PendingRequest, RosterItem } from '../roster.ts';

/** Items and pending requests held at most, over all users (an empty roster counts as one). */
export const MAX_CACHED_ROSTER_ROWS = 100_000;

interface Entry {
  items: readonly RosterItem[] | undefined;
  version: number;
  pending: readonly PendingRequest[] | undefined;
  rows: number;
}

export class RosterCache {
  private readonly entries = new Map<string, Entry>();
  private rows = 0;
  private seenDataVersion: number | undefined;

  constructor(
    /** PRAGMA data_version of the store's connection. */
    private readonly dataVersion: () => number,
    private readonly maxRows = MAX_CACHED_ROSTER_ROWS,
  ) {}

  /** Entries held (tests). */
  get size(): number {
    return this.entries.size;
  }

  /** Call before every read: forgets everything when another connection committed since the last call. */
  validate(): void {
    const now = this.dataVersion();
    if (now !== this.seenDataVersion) {
      this.seenDataVersion = now;
      this.clear();
    }
  }

  items(host: string, user: string): { items: readonly RosterItem[]; version: number } | undefined {
    const entry = this.touch(host, user);
    return entry?.items === undefined ? undefined : { items: entry.items, version: entry.version };
  }

  pending(host: string, user: string): readonly PendingRequest[] | undefined {
    return this.touch(host, user)?.pending;
  }

  keepItems(host: string, user: string, items: readonly RosterItem[], version: number): void {
    const entry = this.entryFor(host, user);
    entry.items = items;
    entry.version = version;
    this.resize(entry);
  }

  keepPending(host: string, user: string, pending: readonly PendingRequest[]): void {
    const entry = this.entryFor(host, user);
    entry.pending = pending;
    this.resize(entry);
  }

  /** The user's roster or pending requests are about to change. */
  forget(host: string, user: string): void {
    const k = key(host, user);
    const entry = this.entries.get(k);
    if (entry === undefined) return;
    this.entries.delete(k);
    this.rows -= entry.rows;
  }

  clear(): void {
    this.entries.clear();
    this.rows = 0;
  }

  private touch(host: string, user: string): Entry | undefined {
    const k = key(host, user);
    const entry = this.entries.get(k);
    if (entry === undefined) return undefined;
    // Map order is the recency order: move it to the end.
    this.entries.delete(k);
    this.entries.set(k, entry);
    return entry;
  }

  private entryFor(host: string, user: string): Entry {
    const k = key(host, user);
    let entry = this.entries.get(k);
    if (entry === undefined) {
      entry = { items: undefined, version: 0, pending: undefined, rows: 0 };
      this.entries.set(k, entry);
    }
    return entry;
  }

  private resize(entry: Entry): void {
    const rows = Math.max(1, (entry.items?.length ?? 0) + (entry.pending?.length ?? 0));
    this.rows += rows - entry.rows;
    entry.rows = rows;
    for (const [k, oldest] of this.entries) {
      if (this.rows <= this.maxRows) break;
      this.entries.delete(k);
      this.rows -= oldest.rows;
    }
  }
}

// Neither a normalized localpart nor a domain can hold NUL.
function key(host: string, user: string): string {
  return `${host}\0${user}`;
}
