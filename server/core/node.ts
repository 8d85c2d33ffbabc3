// One node's core, wired: hooks, session table, router, IQ dispatch, disco features and the
// module/service registry. main.ts builds one; tests build as many as they like.

import type { Element } from '../xml/element.ts';
import { parseJid, type Jid } from '../jid.ts';
import { Hooks } from './hooks.ts';
import { IqDispatcher } from './iq.ts';
import { Router } from './router.ts';
import { SessionManager } from './sessions.ts';
import { FeatureRegistry } from './features.ts';
import { Registry, type ModuleDefinition, type ServiceDefinition } from './registry.ts';
import { logger as rootLogger, type Logger } from '../log.ts';
import type { Storage } from '../storage/storage.ts';
import { Metrics } from '../metrics.ts';
import { PendingWrites } from './pending-writes.ts';
import { WorkerNotices } from './worker-notices.ts';

export interface CoreOptions {
  hosts: string[];
  modules?: ModuleDefinition<unknown>[];
  services?: ServiceDefinition<unknown, unknown>[];
  userExists?: (bare: Jid) => boolean;
  /** Handed to modules as ctx.storage. */
  storage?: Storage;
  /** The node's metrics (/metrics), handed to modules and services as ctx.metrics. */
  metrics?: Metrics;
  maxHops?: number;
  maxResourcesPerUser?: number;
  maxPendingIq?: number;
  logger?: Logger;
}

export class Core {
  readonly hosts: readonly string[];
  readonly logger: Logger;
  readonly hooks: Hooks;
  readonly sessions: SessionManager;
  readonly router: Router;
  readonly iq: IqDispatcher;
  readonly features: FeatureRegistry;
  readonly registry: Registry;
  readonly metrics: Metrics;
  /** Storage writes caused by accepted stanzas; stream management acknowledges after them. */
  readonly writes = new PendingWrites();
  /** Notices to and from the other workers of a multi-process node (modules reach it through ctx). */
  readonly notices: WorkerNotices;

  constructor(options: CoreOptions) {
    // Normalize host names the way JIDs normalize domains, so 'Example.COM.' routes as 'example.com'.
    this.hosts = options.hosts.map((h) => parseJid(h).domain);
    this.logger = options.logger ?? rootLogger;
    this.metrics = options.metrics ?? new Metrics();
    this.hooks = new Hooks(this.logger);
    this.notices = new WorkerNotices(this.logger);
    this.sessions = new SessionManager(this.hooks, { maxResourcesPerUser: options.maxResourcesPerUser });
    this.router = new Router({
      hooks: this.hooks,
      sessions: this.sessions,
      hosts: this.hosts,
      userExists: options.userExists,
      maxHops: options.maxHops,
      logger: this.logger,
    });
    this.iq = new IqDispatcher((packet) => this.router.route(packet), { maxPending: options.maxPendingIq, logger: this.logger });
    this.router.setIqDispatcher(this.iq);
    this.features = new FeatureRegistry();
    this.registry = new Registry(
      { hooks: this.hooks, iq: this.iq, router: this.router, sessions: this.sessions, features: this.features, logger: this.logger, storage: options.storage, metrics: this.metrics, writes: this.writes, notices: this.notices },
      { modules: options.modules, services: options.services },
    );
  }

  /** A server-originated IQ from a host of this node. */
  sendIq(host: string, to: Jid, iq: Element, timeoutMs: number): Promise<Element> {
    return this.iq.sendIq(parseJid(host), to, iq, timeoutMs);
  }
}
