// Storage for messages that arrived while their recipient had no available resource
// (XEP-0160). Messages are kept as serialized stanzas, oldest first.

export interface OfflineMessage {
  /** Serialized <message/>, with its <delay/> already added. */
  readonly stanza: string;
  readonly storedAt: Date;
}

export interface OfflineStore {
  /** Appends a message unless the user already has `limit` of them; false when full. */
  push(host: string, user: string, stanza: string, limit: number): Promise<boolean>;
  /** Removes and returns every message of a user, oldest first (so each is delivered once). */
  popAll(host: string, user: string): Promise<OfflineMessage[]>;
  count(host: string, user: string): Promise<number>;
}
