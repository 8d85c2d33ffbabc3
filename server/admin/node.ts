// What admin commands run against: one node's configuration, core, storage, metrics and
// lifecycle. server.ts builds it for a running node; meerkatctl builds a storage-only one for
// the commands that work while the server is stopped; tests build their own.

import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import type { Core } from '../core/node.ts';
import type { Hooks } from '../core/hooks.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Storage } from '../storage/storage.ts';
import type { ComponentInfo } from '../component/registry.ts';
import type { ModuleDefinition, ServiceDefinition } from '../core/registry.ts';

/** The module and service definitions this build knows (for listings and config checks). */
export interface Catalogue {
  readonly modules: readonly ModuleDefinition<unknown>[];
  readonly services: readonly ServiceDefinition<unknown, unknown>[];
}

/** starting: services and modules are starting; ready: serving; draining: stop() has begun. */
export type NodeState = 'starting' | 'ready' | 'draining';

export interface AdminNode {
  readonly config: MeerkatConfig;
  /** Absent when meerkatctl works on storage alone (server stopped). */
  readonly core: Core | undefined;
  storage(): Promise<Storage>;
  readonly metrics: Metrics | undefined;
  readonly logger: Logger;
  readonly catalogue: Catalogue;
  state(): NodeState;
  /** Connected external components (XEP-0114). */
  components(): ComponentInfo[];
  /** Begins a graceful stop (the answer is sent first). */
  requestStop(reason: string): void;
}

// The running node per core, keyed by its Hooks: what service_admin_extra and mod_adhoc see
// through their contexts, which carry the hooks but not the server.
const nodes = new WeakMap<Hooks, AdminNode>();

export function attachAdminNode(hooks: Hooks, node: AdminNode): void {
  nodes.set(hooks, node);
}

export function adminNodeOf(hooks: Hooks): AdminNode | undefined {
  return nodes.get(hooks);
}
