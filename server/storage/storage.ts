// The storage interface every backend implements. Methods are async so a networked
// backend (PostgreSQL) fits the same shape; the SQLite backend answers synchronously
// underneath. Names (hosts, usernames) arrive already normalized and are stored as given.

import type { StoredCredentials } from '../auth/credentials.ts';
import type { RosterStore } from './roster.ts';
import type { OfflineStore } from './offline.ts';
import type { ArchiveStore } from './mam.ts';
import type { InboxStore } from './inbox.ts';

export type { StoredCredentials } from '../auth/credentials.ts';

export interface UserRecord {
  readonly host: string;
  readonly username: string;
  readonly credentials: StoredCredentials;
  readonly createdAt: Date;
}

export interface ListOptions {
  /** At most this many names; all when unset. */
  limit?: number;
  offset?: number;
}

export interface UserStore {
  /** Creates an account; false when it already exists (nothing is changed then). */
  create(host: string, username: string, credentials: StoredCredentials): Promise<boolean>;
  get(host: string, username: string): Promise<UserRecord | undefined>;
  /** Replaces the credentials; false when there is no such account. */
  setCredentials(host: string, username: string, credentials: StoredCredentials): Promise<boolean>;
  /** Removes the account and everything modules stored for it; false when there was none. */
  remove(host: string, username: string): Promise<boolean>;
  /** Usernames on `host` in code-point order. */
  list(host: string, options?: ListOptions): Promise<string[]>;
  count(host: string): Promise<number>;
  /**
   * Whether an account exists, answered synchronously (the router's RFC 6121 §8.5.1 check
   * runs on the synchronous routing path). Backends that cannot answer without waiting omit it.
   */
  existsSync?(host: string, username: string): boolean;
}

export interface KeyValueEntry {
  readonly key: string;
  readonly value: string;
}

/**
 * A generic store for modules (private XML storage, vCards, ...): one value per
 * (host, user, namespace, key). `user` is '' for host-wide data; `namespace` is the
 * module's own, so modules never collide.
 */
export interface KeyValueStore {
  get(host: string, user: string, namespace: string, key: string): Promise<string | undefined>;
  set(host: string, user: string, namespace: string, key: string, value: string): Promise<void>;
  /** False when there was nothing to delete. */
  delete(host: string, user: string, namespace: string, key: string): Promise<boolean>;
  /** Entries of one namespace for one user, in key order. */
  list(host: string, user: string, namespace: string): Promise<KeyValueEntry[]>;
}

export interface Storage {
  readonly users: UserStore;
  readonly kv: KeyValueStore;
  readonly roster: RosterStore;
  readonly offline: OfflineStore;
  /** Message archive (mod_mam). */
  readonly archive: ArchiveStore;
  /** Conversation list (mod_inbox). */
  readonly inbox: InboxStore;
  close(): Promise<void>;
}

/** A storage failure that is not a plain "not found" or "already exists". */
export class StorageError extends Error {
  override readonly name = 'StorageError';
}
