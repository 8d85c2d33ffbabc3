// The session table of one node: bound client sessions by bare JID, several resources each.
//
// A Session is implemented by the stream (c2s TCP, WebSocket, BOSH); the manager only keeps
// the table consistent and runs the lifecycle hooks. Binding a resource that is already
// bound replaces the older session, which is closed with a <conflict/> stream error
// (RFC 6120 §7.7.2.2, the "override" policy).
//
// Per-user lists are small arrays replaced on change (never mutated in place), so delivery can
// iterate them while a send closes a session without skipping or repeating anyone.

import type { Jid } from '../jid.ts';
import type { Packet } from './packet.ts';
import { StreamError } from '../errors.ts';
import type { Hooks } from './hooks.ts';

export interface Session {
  /** The bound full JID. */
  readonly jid: Jid;
  /** Presence priority (RFC 6121 §4.7.2.3), -128..127; 0 until the first presence. */
  priority: number;
  /** Sent initial presence and not since unavailable: a presence broadcast target. */
  available: boolean;
  /** Fetched the roster (an "interested resource", RFC 6121 §2.1.6). */
  interested: boolean;
  /**
   * The stream is gone but the session waits for a resume (XEP-0198): stanzas to it are
   * buffered, not seen. Push notifications treat it as offline.
   */
  readonly hibernated?: boolean;
  /**
   * Writes the stanza. Must take the bytes synchronously (packet.bytesFor(...) parts may
   * point into tokenizer memory) and must not throw for a closed stream.
   */
  send(packet: Packet): void;
  /** Ends the stream, with the stream error if given. */
  close(error?: StreamError): void;
}

export type OpenResult = 'opened' | 'replaced' | 'limit';

export interface SessionManagerOptions {
  /** Most resources one account may bind at once (RFC 6120 §7.6.2.1 resource-constraint). */
  maxResourcesPerUser?: number;
}

const EMPTY: readonly Session[] = [];

export class SessionManager {
  private readonly byUser = new Map<string, readonly Session[]>();
  private total = 0;
  private readonly hooks: Hooks;
  private readonly maxResources: number;

  constructor(hooks: Hooks, options: SessionManagerOptions = {}) {
    this.hooks = hooks;
    this.maxResources = options.maxResourcesPerUser ?? 64;
  }

  /**
   * Enters a bound session. An older session with the same full JID is closed with
   * <conflict/> and removed first ('replaced'). 'limit': the account has too many resources
   * and nothing changed; the stream answers bind with resource-constraint.
   */
  open(session: Session): OpenResult {
    const key = session.jid.bare().toString();
    const list = this.byUser.get(key) ?? EMPTY;
    const older = list.find((s) => s.jid.resource === session.jid.resource);
    if (older === undefined && list.length >= this.maxResources) return 'limit';
    if (older !== undefined) {
      this.remove(older, 'replaced');
      older.close(new StreamError('conflict', { text: 'Replaced by new connection' }));
    }
    this.byUser.set(key, [...(this.byUser.get(key) ?? EMPTY), session]);
    this.total++;
    this.hooks.run('session_opened', session.jid.domain, { session });
    return older === undefined ? 'opened' : 'replaced';
  }

  /**
   * Removes a session (its stream ended). Runs unset_presence if it was available, then
   * sm_remove_connection and session_closed. Removing a session that is not in the table
   * (already replaced) does nothing, so streams may call this unconditionally on close.
   */
  remove(session: Session, reason = 'closed'): boolean {
    const key = session.jid.bare().toString();
    const list = this.byUser.get(key);
    if (list === undefined || !list.includes(session)) return false;
    const next = list.filter((s) => s !== session);
    if (next.length === 0) this.byUser.delete(key);
    else this.byUser.set(key, next);
    this.total--;
    const host = session.jid.domain;
    if (session.available) {
      session.available = false;
      this.hooks.run('unset_presence', host, { session, status: reason });
    }
    this.hooks.run('sm_remove_connection', host, { session, reason });
    this.hooks.run('session_closed', host, { session, reason });
    return true;
  }

  /** Records that a session sent available presence; runs user_available. */
  setAvailable(session: Session, priority: number, presence: Packet): void {
    session.priority = priority;
    session.available = true;
    this.hooks.run('user_available', session.jid.domain, { session, presence });
  }

  /** Records that a session sent unavailable presence; runs unset_presence once. */
  setUnavailable(session: Session, status = ''): void {
    if (!session.available) return;
    session.available = false;
    this.hooks.run('unset_presence', session.jid.domain, { session, status });
  }

  /** The session bound to exactly this full JID. */
  get(full: Jid): Session | undefined {
    const list = this.byUser.get(full.bare().toString());
    if (list === undefined) return undefined;
    for (const s of list) if (s.jid.resource === full.resource) return s;
    return undefined;
  }

  /** All sessions of an account (bound, available or not). Do not mutate. */
  resources(bare: Jid): readonly Session[] {
    return this.byUser.get(bare.bare().toString()) ?? EMPTY;
  }

  /** Every bound session, account by account (admin listings, per-transport gauges). */
  *all(): IterableIterator<Session> {
    for (const list of this.byUser.values()) yield* list;
  }

  get size(): number {
    return this.total;
  }

  get users(): number {
    return this.byUser.size;
  }
}
