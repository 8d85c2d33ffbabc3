// Modules (per host) and services (per node): definitions, start order, and registrations
// that the core records and removes.
//
//   - Everything is validated before anything starts: unknown names, missing dependencies,
//     dependency cycles, options that fail their schema, and modules that need a service the
//     configuration does not start. All problems are reported together in one RegistryError.
//   - Services start first, once per node, in configuration order. A service has no
//     defaults: it runs only when [services.<name>] is configured.
//   - Modules start per host, each after its dependencies. A dependency that is not
//     configured for the host starts with its defaults.
//   - A module registers hooks, IQ handlers, disco features, domain routes and audiences
//     through its ctx. The registry records each registration and removes it when the
//     module stops (after the module's own stop()), so modules write no undo code.
//     ctx.onStop covers the rest (timers, sockets).
//   - A module whose start() fails rolls back everything started so far.

import type { Element } from '../xml/element.ts';
import { parseJid, type Jid } from '../jid.ts';
import { ANY_HOST, type HookHandler, type HookName, type Hooks } from './hooks.ts';
import type { IqDispatcher, IqHandler, IqScope } from './iq.ts';
import type { Packet } from './packet.ts';
import type { RouteTarget, Router } from './router.ts';
import type { Session, SessionManager } from './sessions.ts';
import type { FeatureRegistry } from './features.ts';
import type { Audience } from './audiences.ts';
import type { WorkerNotices } from './worker-notices.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { PendingWrites } from './pending-writes.ts';
import type { Storage } from '../storage/storage.ts';

export type OptionsPath = ReadonlyArray<string | number>;

/**
 * What the registry needs of a config schema (server/config/schema.ts provides it). Throws on
 * invalid input with a message naming the file and path; `source`/`baseDir` say which file.
 */
export interface OptionsSchema<T> {
  parse(value: unknown, path: OptionsPath, context?: { readonly source?: string; readonly baseDir?: string }): T;
}

/**
 * One [modules.<name>] or [services.<name>] table as the config loader kept it (its RawSection
 * fits): the raw value and where it came from, so schema errors name the right file and path.
 */
export interface OptionsSection {
  readonly value: unknown;
  readonly path?: OptionsPath;
  readonly source?: string;
  readonly baseDir?: string;
}

export interface ModuleContext {
  readonly host: string;
  /** The node's metrics: counters and gauges appear on /metrics (low-cardinality labels only). */
  readonly metrics: Metrics;
  /**
   * Declares a storage write that an accepted stanza caused (storing it offline, keeping a
   * subscription request): stream management acknowledges stanzas only after such writes.
   */
  trackWrite(write: Promise<unknown>): void;
  readonly module: string;
  readonly logger: Logger;
  readonly sessions: SessionManager;
  readonly router: Router;
  /** For running hooks; add handlers with addHook so they are removed on stop. */
  readonly hooks: Hooks;
  /** The node's storage. Reading it throws when the core was built without one (some unit tests). */
  readonly storage: Storage;
  addHook<N extends HookName>(name: N, handler: HookHandler<N>, priority?: number): void;
  addIqHandler(scope: IqScope, ns: string, localName: string, handler: IqHandler): void;
  addFeature(feature: string): void;
  addDomainRoute(domain: string, target: RouteTarget): void;
  /**
   * Names a group of an account's sessions on this host (core/audiences.ts) for
   * router.deliverToAudience: "every resource that fetched the roster". The predicate is
   * evaluated by whichever worker holds the session, on state this module keeps there.
   */
  defineAudience(name: string, includes: (session: Session) => boolean): Audience;
  /**
   * Tells the other workers of the node (core/worker-notices.ts) that something this module
   * keeps per account changed (after it is stored); their onWorkerNotice handlers for the
   * topic run. Nothing happens with one worker.
   */
  notifyWorkers(topic: string, data: string): void;
  /** Runs `handler` for this module's host when another worker calls notifyWorkers(topic, …). */
  onWorkerNotice(topic: string, handler: (data: string) => void): void;
  /** Extra cleanup run when the module stops, after stop() and before registrations are removed. */
  onStop(cleanup: () => void | Promise<void>): void;
  /** Disco features of this host, from every loaded module. */
  features(): string[];
  /** The API a started service returned. Throws if the module did not declare it in requiresServices. */
  service<T>(name: string): T;
  route(packet: Packet): void;
  /** An IQ from this host; see IqDispatcher.sendIq. */
  sendIq(to: Jid, iq: Element, timeoutMs: number): Promise<Element>;
}

export interface ModuleDefinition<Opts> {
  name: string;
  /** XEPs implemented (e.g. 'XEP-0199'); feeds the generated DOAP and compliance table. */
  xeps?: string[];
  deps?: string[];
  requiresServices?: string[];
  defaults: Opts;
  schema: OptionsSchema<Opts>;
  start(host: string, opts: Opts, ctx: ModuleContext): void | Promise<void>;
  stop?(host: string): void | Promise<void>;
}

export interface ServiceContext {
  readonly service: string;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly sessions: SessionManager;
  readonly router: Router;
  readonly hooks: Hooks;
  /** Adds a handler for every host; removed when the service stops. */
  addHook<N extends HookName>(name: N, handler: HookHandler<N>, priority?: number): void;
  addRemoteResolver(resolve: (domain: string) => RouteTarget | undefined): void;
  onStop(cleanup: () => void | Promise<void>): void;
}

export interface ServiceDefinition<Opts, Api> {
  name: string;
  schema: OptionsSchema<Opts>;
  /** Returns the API modules reach through ctx.service(name). */
  start(opts: Opts, ctx: ServiceContext): Api | Promise<Api>;
  stop?(): void | Promise<void>;
}

/** Keeps a definition's option type while storing it among others. */
export function defineModule<Opts>(def: ModuleDefinition<Opts>): ModuleDefinition<Opts> {
  return def;
}

export function defineService<Opts, Api>(def: ServiceDefinition<Opts, Api>): ServiceDefinition<Opts, Api> {
  return def;
}

export interface RegistryConfig {
  /** [services.<name>] tables, in configuration order. */
  services?: Record<string, OptionsSection>;
  /** Per host: [modules.<name>] tables, in configuration order. */
  modules: Record<string, Record<string, OptionsSection>>;
}

export interface RegistryParts {
  metrics: Metrics;
  writes?: PendingWrites;
  hooks: Hooks;
  iq: IqDispatcher;
  router: Router;
  sessions: SessionManager;
  features: FeatureRegistry;
  logger: Logger;
  storage?: Storage;
  notices?: WorkerNotices;
}

export class RegistryError extends Error {
  constructor(readonly problems: string[], options?: { cause?: unknown }) {
    super(problems.join('\n'), options);
    this.name = 'RegistryError';
  }
}

interface PlannedModule {
  readonly def: ModuleDefinition<unknown>;
  readonly opts: unknown;
}

interface Running {
  readonly name: string;
  readonly stop: () => void | Promise<void>;
  readonly cleanups: Array<() => void | Promise<void>>;
}

export class Registry {
  private readonly parts: RegistryParts;
  private readonly moduleDefs = new Map<string, ModuleDefinition<unknown>>();
  private readonly serviceDefs = new Map<string, ServiceDefinition<unknown, unknown>>();
  private readonly runningServices: Running[] = [];
  private readonly serviceApis = new Map<string, unknown>();
  private readonly runningModules = new Map<string, Running[]>(); // host → in start order
  private readonly moduleDeps = new Map<string, readonly string[]>();

  constructor(parts: RegistryParts, catalogue: { modules?: ModuleDefinition<unknown>[]; services?: ServiceDefinition<unknown, unknown>[] }) {
    this.parts = parts;
    for (const m of catalogue.modules ?? []) this.moduleDefs.set(m.name, m);
    for (const s of catalogue.services ?? []) this.serviceDefs.set(s.name, s);
  }

  /** Validates a configuration and returns the start order per host; throws RegistryError listing every problem. */
  plan(config: RegistryConfig): { services: Array<[ServiceDefinition<unknown, unknown>, unknown]>; hosts: Map<string, PlannedModule[]> } {
    const problems: string[] = [];
    const services: Array<[ServiceDefinition<unknown, unknown>, unknown]> = [];
    const configuredServices = config.services ?? {};
    for (const name of Object.keys(configuredServices)) {
      const def = this.serviceDefs.get(name);
      if (!def) {
        problems.push(`unknown service ${name} in [services]`);
        continue;
      }
      const opts = parseOptions(def.schema, configuredServices[name], ['services', name], undefined, problems);
      services.push([def, opts]);
    }
    const hosts = new Map<string, PlannedModule[]>();
    for (const host of Object.keys(config.modules)) {
      const configured = config.modules[host];
      const order: PlannedModule[] = [];
      const state = new Map<string, 'visiting' | 'done'>();
      const visit = (name: string, path: string[]): void => {
        const seen = state.get(name);
        if (seen === 'done') return;
        if (seen === 'visiting') {
          const cycle = path.slice(path.indexOf(name)).concat(name);
          problems.push(`module dependency cycle: ${cycle.join(' -> ')}`);
          return;
        }
        const def = this.moduleDefs.get(name);
        if (!def) {
          if (path.length === 0) problems.push(`unknown module ${name} in [modules] (host ${host})`);
          else problems.push(`${path[path.length - 1]} depends on ${name}, which does not exist`);
          state.set(name, 'done');
          return;
        }
        state.set(name, 'visiting');
        for (const dep of def.deps ?? []) visit(dep, [...path, name]);
        state.set(name, 'done');
        for (const svc of def.requiresServices ?? []) {
          if (!(svc in configuredServices)) problems.push(`${name} requires ${svc}, which is not configured in [services]`);
        }
        const opts = name in configured
          ? parseOptions(def.schema, configured[name], ['modules', name], def.defaults, problems)
          : def.defaults;
        order.push({ def, opts });
      };
      for (const name of Object.keys(configured)) visit(name, []);
      hosts.set(host, order);
    }
    if (problems.length > 0) throw new RegistryError([...new Set(problems)]);
    return { services, hosts };
  }

  /** Starts services, then every host's modules. On failure everything started is stopped again. */
  async start(config: RegistryConfig): Promise<void> {
    const plan = this.plan(config);
    try {
      for (const [def, opts] of plan.services) await this.startService(def, opts);
      for (const [host, modules] of plan.hosts) {
        for (const m of modules) await this.startModule(host, m);
      }
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops every module (reverse start order), then every service. */
  async stop(): Promise<void> {
    const hosts = [...this.runningModules.keys()].reverse();
    for (const host of hosts) {
      const list = this.runningModules.get(host) ?? [];
      while (list.length > 0) await this.stopRunning(list.pop()!, host);
      this.runningModules.delete(host);
    }
    while (this.runningServices.length > 0) {
      const s = this.runningServices.pop()!;
      await this.stopRunning(s, undefined);
      this.serviceApis.delete(s.name);
    }
  }

  /** Stops one module on one host. Refused (throws) while a running module depends on it. */
  async stopModule(host: string, name: string): Promise<void> {
    const list = this.runningModules.get(host) ?? [];
    const i = list.findIndex((r) => r.name === name);
    if (i < 0) return;
    const dependent = list.find((r) => (this.moduleDeps.get(r.name) ?? []).includes(name));
    if (dependent) throw new RegistryError([`cannot stop ${name} on ${host}: ${dependent.name} depends on it`]);
    const [running] = list.splice(i, 1);
    await this.stopRunning(running, host);
  }

  /** Module names running on a host, in start order. */
  running(host: string): string[] {
    return (this.runningModules.get(host) ?? []).map((r) => r.name);
  }

  features(host: string): string[] {
    return this.parts.features.list(host);
  }

  /** Every known module definition (for the DOAP/compliance generator). */
  definitions(): ModuleDefinition<unknown>[] {
    return [...this.moduleDefs.values()];
  }

  private async startService(def: ServiceDefinition<unknown, unknown>, opts: unknown): Promise<void> {
    const p = this.parts;
    const cleanups: Array<() => void | Promise<void>> = [];
    const running: Running = { name: def.name, stop: () => def.stop?.(), cleanups };
    this.runningServices.push(running);
    const ctx: ServiceContext = {
      service: def.name,
      metrics: p.metrics,
      logger: p.logger.child({ service: def.name }),
      sessions: p.sessions,
      router: p.router,
      hooks: p.hooks,
      addHook: (name, handler, priority) => { cleanups.push(p.hooks.add(name, ANY_HOST, handler, priority)); },
      addRemoteResolver: (resolve) => { cleanups.push(p.router.addRemoteResolver(resolve)); },
      onStop: (cleanup) => { cleanups.push(cleanup); },
    };
    try {
      this.serviceApis.set(def.name, await def.start(opts, ctx));
    } catch (err) {
      throw new RegistryError([`${def.name} failed to start: ${messageOf(err)}`], { cause: err });
    }
  }

  private async startModule(host: string, planned: PlannedModule): Promise<void> {
    const { def, opts } = planned;
    const p = this.parts;
    const cleanups: Array<() => void | Promise<void>> = [];
    const running: Running = { name: def.name, stop: () => def.stop?.(host), cleanups };
    let list = this.runningModules.get(host);
    if (!list) this.runningModules.set(host, (list = []));
    list.push(running);
    this.moduleDeps.set(def.name, def.deps ?? []);
    const allowed = new Set(def.requiresServices ?? []);
    let hostJid: Jid | undefined;
    const ctx: ModuleContext = {
      host,
      module: def.name,
      metrics: p.metrics,
      trackWrite: (write) => p.writes?.track(write),
      logger: p.logger.child({ host, module: def.name }),
      sessions: p.sessions,
      router: p.router,
      hooks: p.hooks,
      get storage(): Storage {
        if (p.storage === undefined) throw new Error(`${def.name} needs storage, and this core has none`);
        return p.storage;
      },
      addHook: (name, handler, priority) => { cleanups.push(p.hooks.add(name, host, handler, priority)); },
      addIqHandler: (scope, ns, localName, handler) => { cleanups.push(p.iq.register(scope, host, ns, localName, handler)); },
      addFeature: (feature) => { cleanups.push(p.features.add(host, feature)); },
      addDomainRoute: (domain, target) => { cleanups.push(p.router.addDomainRoute(domain, target)); },
      defineAudience: (name, includes) => {
        const { audience, remove } = p.router.audiences.define(host, name, includes);
        cleanups.push(remove);
        return audience;
      },
      notifyWorkers: (topic, data) => p.notices?.publish(host, topic, data),
      onWorkerNotice: (topic, handler) => {
        if (p.notices !== undefined) cleanups.push(p.notices.subscribe(host, topic, handler));
      },
      onStop: (cleanup) => { cleanups.push(cleanup); },
      features: () => p.features.list(host),
      service: <T>(name: string): T => {
        if (!allowed.has(name)) throw new Error(`${def.name} uses service ${name} without listing it in requiresServices`);
        return this.serviceApis.get(name) as T;
      },
      route: (packet) => p.router.route(packet),
      sendIq: (to, iq, timeoutMs) => p.iq.sendIq((hostJid ??= parseJid(host)), to, iq, timeoutMs),
    };
    try {
      await def.start(host, opts, ctx);
    } catch (err) {
      throw new RegistryError([`${def.name} failed to start on ${host}: ${messageOf(err)}`], { cause: err });
    }
  }

  private async stopRunning(running: Running, host: string | undefined): Promise<void> {
    const log = this.parts.logger;
    try {
      await running.stop();
    } catch (err) {
      log.warn('module_stop_failed', { name: running.name, host, error: err });
    }
    // Newest registration first, mirroring the order they were made in.
    while (running.cleanups.length > 0) {
      const cleanup = running.cleanups.pop()!;
      try {
        // A cleanup may finish work already queued (storage writes) before storage closes.
        await cleanup();
      } catch (err) {
        log.warn('module_cleanup_failed', { name: running.name, host, error: err });
      }
    }
  }
}

function parseOptions<T>(schema: OptionsSchema<T>, section: OptionsSection, path: OptionsPath, defaults: T | undefined, problems: string[]): T | undefined {
  let parsed: T;
  try {
    // Only the keys that are set: a schema fills the others from its own defaults.
    const context: { source?: string; baseDir?: string } = {};
    if (section.source !== undefined) context.source = section.source;
    if (section.baseDir !== undefined) context.baseDir = section.baseDir;
    parsed = schema.parse(section.value, section.path ?? path, context);
  } catch (err) {
    problems.push(messageOf(err));
    return undefined;
  }
  // Keys the schema left out fall back to the module's defaults.
  if (isPlainObject(defaults) && isPlainObject(parsed)) return { ...defaults, ...parsed } as T;
  return parsed;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
