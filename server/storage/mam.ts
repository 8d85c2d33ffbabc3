// Storage for the message archive (XEP-0313): every archived message of a user, in arrival
// order, plus the user's archiving preferences.
//
// Writes are synchronous on purpose: the archive entry is committed on the routing path,
// before the stanza is delivered (and so before any client acknowledges it), which is what
// lets a crash after delivery never lose an archived message. Queries are async like the
// rest of the storage interface.
//
// Ids are positive integers in arrival order across the whole archive table; the protocol
// shows them as decimal strings (stanza-id, RSM before/after, the ids filter).

export type ArchiveDirection = 'in' | 'out';

export interface ArchiveEntry {
  readonly host: string;
  readonly user: string;
  /** Bare JID of the other party. */
  readonly with: string;
  readonly direction: ArchiveDirection;
  /** The message as routed (from/to set), serialized; without the stanza-id the archive adds. */
  readonly stanza: string;
}

export interface ArchivedMessage {
  readonly id: number;
  readonly with: string;
  readonly direction: ArchiveDirection;
  /** Milliseconds since the epoch, when the server archived it. */
  readonly timestamp: number;
  readonly stanza: string;
}

export interface ArchiveQuery {
  /** Bare JID of the other party. */
  with?: string;
  /** Inclusive bounds, milliseconds since the epoch. */
  start?: number;
  end?: number;
  /** Only these ids (urn:xmpp:mam:2#extended). */
  ids?: readonly number[];
  /** Exclusive: only messages after / before this id. */
  after?: number;
  before?: number;
  /** The page is taken from the newest end (RSM <before/>, empty or with an id). */
  fromEnd?: boolean;
  max: number;
}

export interface ArchivePage {
  /** The page, oldest first. */
  readonly messages: ArchivedMessage[];
  /** No more messages exist beyond this page in the direction of the query. */
  readonly complete: boolean;
}

export type ArchiveMode = 'always' | 'never' | 'roster';

export interface ArchivePrefs {
  readonly defaultMode: ArchiveMode;
  /** Bare JIDs always archived / never archived, whatever the default. */
  readonly always: readonly string[];
  readonly never: readonly string[];
}

export interface ArchiveStore {
  /** Appends entries in one transaction (committed when this returns); returns their ids in order. */
  appendSync(entries: readonly ArchiveEntry[]): number[];
  query(host: string, user: string, query: ArchiveQuery): Promise<ArchivePage>;
  /** Whether a message with this id is in the user's archive (RSM ids must be the user's own). */
  has(host: string, user: string, id: number): Promise<boolean>;
  count(host: string, user: string): Promise<number>;
  /** Removes a user's whole archive and preferences. */
  removeUser(host: string, user: string): Promise<void>;
  prefsSync(host: string, user: string): ArchivePrefs | undefined;
  setPrefs(host: string, user: string, prefs: ArchivePrefs): Promise<void>;
  /** Whether `contact` is in the user's roster with a subscription (mod_roster's table), for the 'roster' mode. */
  inRosterSync(host: string, user: string, contact: string): boolean;
}
