// Storage for RFC 6121 rosters: the items a user keeps, the subscription requests waiting for
// the user's answer ("pending in", kept apart so they never show up as roster items before
// the user approves, §3.1.3), and a per-user version counter for XEP-0237.
//
// Contacts are bare JIDs as strings, already normalized. Every method that changes a roster
// bumps its version and returns the new one, so callers can stamp roster pushes with it.

export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface RosterItem {
  /** Bare JID of the contact. */
  readonly jid: string;
  readonly name: string | undefined;
  readonly subscription: Subscription;
  /** The user asked for a subscription and the contact has not answered ("Pending Out"). */
  readonly ask: boolean;
  /** The user pre-approved a subscription request from the contact (RFC 6121 §3.4). */
  readonly approved: boolean;
  readonly groups: readonly string[];
}

export interface PendingRequest {
  /** Bare JID of the requester. */
  readonly jid: string;
  /** The subscribe stanza as received (serialized), for redelivery at the next login. */
  readonly stanza: string;
}

export interface RosterStore {
  /** Every item of a user's roster, in contact order, and the roster's version (0: never changed). */
  get(host: string, user: string): Promise<{ items: RosterItem[]; version: number }>;
  getItem(host: string, user: string, contact: string): Promise<RosterItem | undefined>;
  /** Inserts or replaces an item; returns the new roster version. */
  put(host: string, user: string, item: RosterItem): Promise<number>;
  /** Removes an item; returns the new roster version, or undefined when there was none. */
  remove(host: string, user: string, contact: string): Promise<number | undefined>;
  version(host: string, user: string): Promise<number>;

  pending(host: string, user: string): Promise<PendingRequest[]>;
  getPending(host: string, user: string, contact: string): Promise<PendingRequest | undefined>;
  /** Records (or refreshes) a pending inbound subscription request. */
  setPending(host: string, user: string, request: PendingRequest): Promise<void>;
  /** False when there was none. */
  removePending(host: string, user: string, contact: string): Promise<boolean>;
}
