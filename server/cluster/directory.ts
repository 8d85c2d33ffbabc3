// The shared session table of one node's workers, as each worker sees it: bare JID → the
// sessions other workers announced (their own sessions stay in the local SessionManager).
//
// Consistency: a worker's entries arrive in order on its one link, so the table follows it;
// when the link closes (the worker stopped or died) or the worker says hello again (a new
// incarnation), every entry of that worker is dropped at once. Bounded: at most
// maxResourcesPerUser entries per account and per worker, and maxEntriesPerWorker in all
// per worker; announcements beyond them are refused (the announcing worker enforces the
// same limits on its own sessions, so this only bites a misbehaving peer).

import { parseJid, type Jid } from '../jid.ts';
import type { PeerSession, PeerSessions } from '../core/router.ts';

export interface DirectoryEntry extends PeerSession {
  readonly worker: number;
  /** When the session was bound (ms since the epoch): the later of two equal full JIDs wins. */
  readonly since: number;
}

export interface DirectoryLimits {
  maxResourcesPerUser: number;
  maxEntriesPerWorker: number;
}

const EMPTY: readonly DirectoryEntry[] = [];

export class WorkerDirectory implements Pick<PeerSessions, 'resources' | 'get'> {
  // Lists are replaced, never mutated, so a delivery loop over one is not disturbed.
  private readonly byUser = new Map<string, readonly DirectoryEntry[]>();
  private readonly byWorker = new Map<number, Map<string, DirectoryEntry>>();
  private readonly limits: DirectoryLimits;

  constructor(limits: DirectoryLimits = { maxResourcesPerUser: 64, maxEntriesPerWorker: 1_000_000 }) {
    this.limits = limits;
  }

  /** Records or updates a session of `worker`. False when refused (bad JID, over a limit). */
  up(worker: number, jidText: string, priority: number, available: boolean, since: number): boolean {
    let jid: Jid;
    try {
      jid = parseJid(jidText);
    } catch {
      return false;
    }
    if (jid.resource === '' || jid.local === '') return false;
    const full = jid.toString();
    let mine = this.byWorker.get(worker);
    if (mine === undefined) this.byWorker.set(worker, (mine = new Map()));
    const key = jid.bare().toString();
    const list = this.byUser.get(key) ?? EMPTY;
    const existing = mine.get(full);
    if (existing === undefined) {
      if (mine.size >= this.limits.maxEntriesPerWorker) return false;
      let ofWorker = 0;
      for (const e of list) if (e.worker === worker) ofWorker++;
      if (ofWorker >= this.limits.maxResourcesPerUser) return false;
    }
    const entry: DirectoryEntry = { worker, jid, priority: clampPriority(priority), available, since };
    mine.set(full, entry);
    this.byUser.set(key, existing === undefined ? [...list, entry] : list.map((e) => (e === existing ? entry : e)));
    return true;
  }

  /** Forgets one session of `worker`. */
  down(worker: number, jidText: string): void {
    const mine = this.byWorker.get(worker);
    if (mine === undefined) return;
    let full: string;
    try {
      full = parseJid(jidText).toString();
    } catch {
      return;
    }
    const entry = mine.get(full);
    if (entry === undefined) return;
    mine.delete(full);
    this.unlist(entry);
  }

  /** Forgets every session of `worker` (its link closed, or it restarted). Returns how many. */
  dropWorker(worker: number): number {
    const mine = this.byWorker.get(worker);
    if (mine === undefined) return 0;
    this.byWorker.delete(worker);
    for (const entry of mine.values()) this.unlist(entry);
    return mine.size;
  }

  resources(bare: Jid): readonly DirectoryEntry[] {
    return this.byUser.get(bare.bare().toString()) ?? EMPTY;
  }

  get(full: Jid): DirectoryEntry | undefined {
    const list = this.byUser.get(full.bare().toString());
    if (list === undefined) return undefined;
    for (const e of list) if (e.jid.resource === full.resource) return e;
    return undefined;
  }

  /** Sessions known per worker (admin, tests). */
  counts(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [w, m] of this.byWorker) out.set(w, m.size);
    return out;
  }

  private unlist(entry: DirectoryEntry): void {
    const key = entry.jid.bare().toString();
    const list = this.byUser.get(key);
    if (list === undefined) return;
    const next = list.filter((e) => e !== entry);
    if (next.length === 0) this.byUser.delete(key);
    else this.byUser.set(key, next);
  }
}

function clampPriority(p: number): number {
  return Number.isInteger(p) ? Math.max(-128, Math.min(127, p)) : 0;
}
