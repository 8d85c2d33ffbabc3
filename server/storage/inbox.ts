// Storage for the inbox (MongooseIM's erlang-solutions.com:xmpp:inbox:0): one entry per
// (user, conversation) holding the last message, its time, the unread count, the box the
// conversation is filed in and until when it is muted.

export interface InboxEntry {
  /** Bare JID of the other party. */
  readonly remote: string;
  /** The last message, serialized. */
  readonly stanza: string;
  /** The id attribute of the last message ('' when it had none). */
  readonly messageId: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly unread: number;
  readonly box: string;
  /** Milliseconds since the epoch; 0 when not muted. */
  readonly mutedUntil: number;
}

export interface InboxQuery {
  start?: number;
  end?: number;
  order: 'asc' | 'desc';
  /** Only conversations with unread messages. */
  unreadOnly: boolean;
  /** A box name, or undefined for all. */
  box?: string;
  /** At most this many entries. */
  max?: number;
}

export interface InboxTotals {
  /** Conversations matching the filters (box, time), before max is applied. */
  readonly count: number;
  readonly unreadMessages: number;
  readonly activeConversations: number;
}

export interface InboxUpdate {
  readonly host: string;
  readonly user: string;
  readonly remote: string;
  readonly stanza: string;
  readonly messageId: string;
  readonly timestamp: number;
  /** 'increment': the user received it; 'reset': the user sent it. */
  readonly unread: 'increment' | 'reset';
}

export interface InboxStore {
  /**
   * Applies updates in one transaction: each sets the entry's last message and its unread
   * count, and brings an entry filed in the 'archive' box back to 'inbox'.
   */
  update(updates: readonly InboxUpdate[]): Promise<void>;
  /** Sets unread to 0 when the last message has this id; true when it did. */
  markDisplayed(host: string, user: string, remote: string, messageId: string): Promise<boolean>;
  query(host: string, user: string, query: InboxQuery): Promise<{ entries: InboxEntry[]; totals: InboxTotals }>;
  get(host: string, user: string, remote: string): Promise<InboxEntry | undefined>;
  /** Changes properties of an existing entry; false when there is none. */
  setProperties(host: string, user: string, remote: string, props: { box?: string; unread?: number | 'at-least-one'; mutedUntil?: number }): Promise<boolean>;
  removeUser(host: string, user: string): Promise<void>;
}
