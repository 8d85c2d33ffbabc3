// The push nodes of the in-server app server: who owns each node, and the last few
// notifications published to it.
//
// Ownership is stored (key-value store, host-wide namespace 'pubsub_push'), so a registration
// made against a node keeps working across restarts. Notifications are kept in memory only,
// the last max_items per node: they are for observing and fetching, not an archive.

import type { KeyValueStore } from '../../server/storage/storage.ts';
import type { Logger } from '../../server/log.ts';
import type { Element } from '../../server/xml/element.ts';

export const KV_NAMESPACE = 'pubsub_push';

export interface PushItem {
  readonly id: string;
  /** The <notification xmlns='urn:xmpp:push:0'/> element as published. */
  readonly notification: Element;
  /** publish-options fields as published (secrets included: the owner set them). */
  readonly options: ReadonlyMap<string, readonly string[]>;
  readonly publishedAt: string;
}

interface Node {
  readonly owner: string;
  items: PushItem[];
}

export interface NodeLimits {
  readonly maxNodes: number;
  readonly maxNodesPerOwner: number;
  readonly maxItems: number;
}

export type CreateResult = 'created' | 'conflict' | 'limit';

export class PushNodes {
  private readonly nodes = new Map<string, Node>();
  private readonly perOwner = new Map<string, number>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly host: string,
    private readonly limits: NodeLimits,
    private readonly log: Logger,
  ) {}

  /** Reads stored ownership (at start). */
  async load(): Promise<void> {
    for (const e of await this.kv.list(this.host, '', KV_NAMESPACE)) this.add(e.key, e.value);
  }

  owner(node: string): string | undefined {
    return this.nodes.get(node)?.owner;
  }

  create(node: string, owner: string): CreateResult {
    if (this.nodes.has(node)) return 'conflict';
    if (this.nodes.size >= this.limits.maxNodes || (this.perOwner.get(owner) ?? 0) >= this.limits.maxNodesPerOwner) return 'limit';
    this.add(node, owner);
    this.persist(this.kv.set(this.host, '', KV_NAMESPACE, node, owner), 'create');
    return 'created';
  }

  delete(node: string): boolean {
    const n = this.nodes.get(node);
    if (n === undefined) return false;
    this.nodes.delete(node);
    const left = (this.perOwner.get(n.owner) ?? 1) - 1;
    if (left === 0) this.perOwner.delete(n.owner);
    else this.perOwner.set(n.owner, left);
    this.persist(this.kv.delete(this.host, '', KV_NAMESPACE, node), 'delete');
    return true;
  }

  /** Keeps an item (the oldest goes past max_items); false for an unknown node. */
  publish(node: string, item: PushItem): boolean {
    const n = this.nodes.get(node);
    if (n === undefined) return false;
    n.items.push(item);
    if (n.items.length > this.limits.maxItems) n.items.splice(0, n.items.length - this.limits.maxItems);
    return true;
  }

  items(node: string): readonly PushItem[] {
    return this.nodes.get(node)?.items ?? [];
  }

  list(): Array<{ node: string; owner: string }> {
    return [...this.nodes].map(([node, n]) => ({ node, owner: n.owner }));
  }

  get size(): number {
    return this.nodes.size;
  }

  private add(node: string, owner: string): void {
    this.nodes.set(node, { owner, items: [] });
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
  }

  private persist(op: Promise<unknown>, what: string): void {
    op.then(undefined, (err: unknown) => this.log.warn('pubsub_push_store_failed', { what, error: err }));
  }
}
