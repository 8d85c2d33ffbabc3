// Assembles one Meerkat node from a validated configuration: storage, the core (hooks,
// sessions, router, IQ dispatch), services then modules, and the listeners. Returns a
// handle whose stop() shuts down gracefully: listeners close first, every stream gets
// <system-shutdown/>, then modules, services and storage stop.

import type { MeerkatConfig } from './config/meerkat-schema.ts';
import { listenerVerifyMode, type ComponentListenerConfig } from './config/listen.ts';
import { createClientCertificateVerifier } from './auth/cert/verify.ts';
import { Core } from './core/node.ts';
import type { ModuleDefinition, ServiceDefinition, OptionsSection } from './core/registry.ts';
import { createMechanismRegistry } from './auth/sasl/registry.ts';
import { openStorage } from './storage/open.ts';
import type { Storage } from './storage/storage.ts';
import { listenerTlsCredentials } from './tls/material.ts';
import { getRuntime } from './runtime/index.ts';
import type { TlsCredentials } from './runtime/types.ts';
import { logger as rootLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { createC2sEnv } from './streams/c2s-wiring.ts';
import { startC2sListeners, type C2sListenerInfo } from './streams/c2s-listeners.ts';
import { loadServerSecret } from './server-secret.ts';
import type { C2sLimits } from './streams/c2s-env.ts';
import { DEFAULT_LIMITS, PREAUTH_LIMITS } from '../parser-wasm/host/limits.ts';
import { MODULES, SERVICES } from '../modules/index.ts';
import { componentEnv, startComponentListeners, type ComponentListenerInfo } from './component/listener.ts';
import type { ComponentRegistry } from './component/registry.ts';
import { startHttpListener, websocketComponentListener, type HttpListener } from './http/listener.ts';
import { rerouteUndelivered } from './core/undelivered.ts';
import { tryParseJid } from './jid.ts';
import { attachAdminNode, type AdminNode, type NodeState } from './admin/node.ts';
import { startAdminListener, type AdminListener } from './admin/listener.ts';
import { describeAdminMetrics, instrumentCore } from './admin/instrument.ts';
import { timedStorage } from './admin/timed-storage.ts';
import { enabledAdminCommands } from '../modules/service_admin_extra.ts';
import { serverVersion } from '../modules/mod_version.ts';
import { ConnectionGuard } from './guard/guard.ts';
import { ListenerGuard } from './guard/listener-guard.ts';
import { guardSettings, shaperRate } from './guard/settings.ts';
import { createAccessControl } from './config/access.ts';
import { joinWorkers, type WorkerGroup, type WorkerIdentity } from './cluster/worker.ts';

export interface StartOptions {
  logger?: Logger;
  /** Extra module/service definitions (tests). */
  modules?: ModuleDefinition<unknown>[];
  services?: ServiceDefinition<unknown, unknown>[];
  /** Override the pre-authentication timeout (tests). */
  preauthTimeoutMs?: number;
  /** Override the component handshake timeout (tests). */
  componentHandshakeTimeoutMs?: number;
  /** Called after a stop requested through the admin commands (node stop) has finished; main.ts exits. */
  onAdminStop?: () => void;
  /**
   * Run as worker `index` of `count` processes of one node (server/cluster/): c2s listeners
   * share their ports (reusePort), sessions are shared with the other workers, and the
   * listeners that keep state per connection across requests (admin, HTTP, components)
   * run on worker 0 only.
   */
  worker?: WorkerIdentity;
}

export type ListenerInfo = C2sListenerInfo | { kind: 'http'; tls: 'tls' | 'none'; address: string; port: number };

export interface RunningServer {
  readonly config: MeerkatConfig;
  readonly core: Core;
  readonly storage: Storage;
  readonly metrics: Metrics;
  readonly listeners: readonly ListenerInfo[];
  readonly componentListeners: readonly ComponentListenerInfo[];
  /** Connected external components (XEP-0114): listComponents() for admin commands. */
  readonly components: ComponentRegistry;
  /** The certificate c2s TLS uses (the dev certificate unless configured). */
  readonly tlsCertificate: string | undefined;
  /** The [listen.admin] listener (REST admin API, /metrics, /health, dashboard), when configured. */
  readonly admin: { readonly address: string; readonly port: number } | undefined;
  /** What admin commands run against on this node. */
  readonly adminNode: AdminNode;
  /** Connection caps, auth-failure bans and shapers of every entry point (server/guard/). */
  readonly guard: ConnectionGuard;
  stop(reason?: string): Promise<void>;
}

export async function startServer(config: MeerkatConfig, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.logger ?? rootLogger;
  log.setLevel(config.general.loglevel);
  const runtime = await getRuntime();
  const metrics = new Metrics();
  describeMetrics(metrics);

  describeAdminMetrics(metrics);
  const storage = timedStorage(await openStorage(config.storage), metrics);
  const serverSecret = await loadServerSecret(config.general.data_dir);

  const core = new Core({
    metrics,
    hosts: [...config.general.hosts],
    modules: [...MODULES, ...(options.modules ?? [])],
    services: [...SERVICES, ...(options.services ?? [])],
    logger: log,
    storage,
    userExists: storage.users.existsSync && ((bare) => storage.users.existsSync!(bare.domain, bare.local)),
  });
  // --- Admin (server/admin/): node state for /health/ready, metrics from the core, the
  // [listen.admin] listener. It starts before the modules so readiness reads 503 meanwhile.
  let nodeState: NodeState = 'starting';
  let componentRegistry: ComponentRegistry | undefined;
  let handle: RunningServer | undefined;
  const adminNode: AdminNode = {
    config,
    core,
    storage: async () => storage,
    metrics,
    logger: log,
    catalogue: { modules: [...MODULES, ...(options.modules ?? [])], services: [...SERVICES, ...(options.services ?? [])] },
    state: () => nodeState,
    components: () => componentRegistry?.listComponents() ?? [],
    requestStop: (reason) => {
      // After the answer has been written.
      setTimeout(() => void handle?.stop(reason).then(() => options.onAdminStop?.()), 50);
    },
  };
  attachAdminNode(core.hooks, adminNode);
  instrumentCore(metrics, core);
  let admin: AdminListener | undefined;
  // --- workers (server/cluster/): only worker 0 of several serves admin, HTTP and components.
  const primaryWorker = options.worker === undefined || options.worker.index === 0;
  // --- end workers
  if (config.listen.admin && primaryWorker) {
    admin = await startAdminListener(runtime, config.listen.admin, {
      node: adminNode,
      commands: () => enabledAdminCommands(core.hooks),
      log,
      dataDir: config.general.data_dir,
      version: serverVersion(),
      source: config.file ?? '(defaults)',
    });
  }
  // --- end admin

  const perHost: Record<string, Record<string, OptionsSection>> = {};
  for (const host of core.hosts) perHost[host] = config.modules as Record<string, OptionsSection>;
  try {
    await core.registry.start({ services: config.services as Record<string, OptionsSection>, modules: perHost });
  } catch (err) {
    await admin?.stop();
    throw err;
  }

  // --- workers: join the others before accepting anyone, so every session is announced.
  let workers: WorkerGroup | undefined;
  if (options.worker !== undefined) {
    workers = await joinWorkers({ ...options.worker, core, runtime, dataDir: config.general.data_dir, log });
  }
  // --- end workers

  const sasl = createMechanismRegistry({
    sasl_mechanisms: config.auth.sasl_mechanisms,
    external: {
      methods: config.auth.sasl_external,
      commonNamePrefix: config.auth.external.common_name_prefix,
      commonNameSuffix: config.auth.external.common_name_suffix,
      requireExistingUser: config.auth.external.user_must_exist,
    },
  });

  // --- guard (server/guard/): caps, bans and shapers for every entry point: c2s and
  // component TCP connections, BOSH sessions, WebSocket connections.
  const guard = new ConnectionGuard(guardSettings(config.guard), {
    refused: (ip, why, transport) => metrics.inc('guard_refused_total', { why, transport }),
    banned: (ip, forMs, transport) => log.warn('guard_address_banned', { remote: ip, seconds: Math.round(forMs / 1000), transport }),
    shaped: (transport) => metrics.inc('guard_shaper_pauses_total', { transport }),
    cut: (ip, why, transport) => metrics.inc('guard_cut_total', { why, transport }),
  });
  metrics.gaugeByLabel('guard_connections_open', 'transport', () => guard.stats().openByTransport);
  const accessControl = createAccessControl(config);
  /** The guard as one listener sees it: its shaper, and the access rules for its clients and components. */
  const listenerGuard = (listen: { shaper?: string }, clientAccess: string | undefined, componentAccess: string | undefined) =>
    new ListenerGuard(guard, { shaperRate: shaperRate(config, listen.shaper), clientAccess, componentAccess, accessControl });
  // --- end guard

  /** The env a listener's client streams run against: TCP, or BOSH/WebSocket over HTTP. */
  const c2sEnvFor = (opts: {
    transportName: string;
    maxStanzaBytes: number;
    tlsRequired: boolean;
    startTls: TlsCredentials | undefined;
    verifyMode: Parameters<typeof createClientCertificateVerifier>[0];
    tls: TlsCredentials | undefined;
  }) => createC2sEnv({
    core,
    storage,
    sasl,
    serverSecret,
    scramIterations: config.auth.password.scram_iterations,
    tls: opts.startTls,
    tlsRequired: opts.tlsRequired,
    limits: c2sLimits(options, config, opts.maxStanzaBytes),
    defaultHost: config.general.default_server_domain,
    log,
    metrics,
    transportName: opts.transportName,
    clientCertificates: opts.tls === undefined ? undefined : createClientCertificateVerifier(opts.verifyMode, opts.tls.ca),
  });

  metrics.gauge('sessions', () => core.sessions.size);
  metrics.gauge('uptime_seconds', () => Math.round((Date.now() - metrics.startedAt) / 1000));

  const c2s = await startC2sListeners({
    runtime,
    config,
    guard,
    log,
    reusePort: workers !== undefined,
    envFor: (listen, tls) => c2sEnvFor({
      transportName: listen.tls === 'tls' ? 'tcp_tls' : 'tcp',
      maxStanzaBytes: listen.max_stanza_size,
      // "starttls" still requires encryption before SASL when a certificate is configured:
      // plaintext logins are never offered by default.
      tlsRequired: listen.tls !== 'none',
      startTls: listen.tls === 'starttls' || listen.tls === 'starttls_required' ? tls : undefined,
      verifyMode: listenerVerifyMode(listen),
      tls,
    }),
  });
  metrics.gauge('c2s_connections_open', () => c2s.openStreams);
  const listeners: ListenerInfo[] = [...c2s.listeners];

  // External components (XEP-0114): [[listen.component]], and on WebSocket endpoints
  // with a component table (same registry, so conflicts span both).
  const componentDeps = {
    runtime, core, log, metrics,
    handshakeTimeoutMs: options.componentHandshakeTimeoutMs ?? config.guard.preauth_timeout,
    guardFor: (listen: ComponentListenerConfig) => listenerGuard(listen, undefined, listen.access),
  };
  const components = await startComponentListeners(primaryWorker ? config.listen.component : [], componentDeps);
  componentRegistry = components.registry;

  const httpListeners: HttpListener[] = [];
  for (const listen of primaryWorker ? config.listen.http : []) {
    const tls = listen.tls ? await listenerTlsCredentials(listen, config.general, log) : undefined;
    const env = c2sEnvFor({
      transportName: 'http',
      maxStanzaBytes: listen.max_stanza_size,
      // BOSH and WebSocket get their encryption from HTTPS; on a plain-HTTP listener (the
      // default binds loopback) the SASL registry still withholds PLAIN.
      tlsRequired: false,
      startTls: undefined,
      verifyMode: listenerVerifyMode(listen),
      // SASL EXTERNAL over HTTPS: the runtime shows each request its client certificate.
      tls,
    });
    const wsComponents = websocketComponentListener(listen);
    const http = await startHttpListener(runtime, listen, {
      log,
      c2s: env,
      tls,
      component: wsComponents && componentEnv(wsComponents, listen.port, components.registry, componentDeps),
      guard: listenerGuard(listen, listen.access, wsComponents?.access),
      undelivered: (jid, stanzas) => {
        const owner = jid === undefined ? undefined : tryParseJid(jid);
        let outcome = { rerouted: 0, bounced: 0, dropped: 0 };
        for (const stanza of stanzas) {
          if (owner === undefined) outcome.dropped++;
          else outcome[rerouteUndelivered(core, owner, stanza)]++;
        }
        log.info('undelivered_stanzas', { jid, ...outcome });
      },
    });
    httpListeners.push(http);
    listeners.push({ kind: 'http', tls: listen.tls ? 'tls' : 'none', address: listen.ip_address, port: http.port });
  }

  metrics.gauge('bosh_sessions', () => httpListeners.reduce((n, h) => n + h.app.boshSessions(), 0));

  let stopped = false;
  nodeState = 'ready';
  handle = {
    config,
    core,
    storage,
    metrics,
    listeners,
    componentListeners: components.listeners,
    components: components.registry,
    tlsCertificate: c2s.tlsCertificate,
    admin: admin && { address: admin.address, port: admin.port },
    adminNode,
    guard,
    async stop(reason = 'system shutdown') {
      if (stopped) return;
      stopped = true;
      nodeState = 'draining';
      log.info('server_stopping', { reason, streams: c2s.openStreams });
      components.stop();
      c2s.stop();
      await Promise.all(httpListeners.map((h) => h.stop()));
      await workers?.stop();
      for (const host of core.hosts) core.hooks.run('node_stopping', host, {});
      await core.registry.stop();
      await storage.close();
      await admin?.stop();
      log.info('server_stopped', {});
    },
  };
  return handle;
}

function c2sLimits(options: StartOptions, config: MeerkatConfig, maxStanzaBytes: number): C2sLimits {
  return {
    preauth: { ...PREAUTH_LIMITS },
    authenticated: { ...DEFAULT_LIMITS, maxStanzaBytes },
    preauthTimeoutMs: options.preauthTimeoutMs ?? config.guard.preauth_timeout,
    maxOutboundBytes: config.general.max_outbound_bytes,
    maxAuthFailures: config.guard.max_auth_failures,
  };
}

function describeMetrics(m: Metrics): void {
  m.describe('logins_total', 'Successful SASL authentications, by transport.');
  m.describe('auth_failures_total', 'SASL failures, by condition.');
  m.describe('stanzas_in_total', 'Stanzas received from bound clients, by kind.');
  m.describe('stream_errors_total', 'Streams closed with a stream error, by condition.');
  m.describe('sessions', 'Bound sessions on this node.');
  m.describe('storage_latency_seconds', 'Storage call latency.');
  m.describe('guard_refused_total', 'Connections and BOSH sessions refused by the guard, by cap or ban and transport.');
  m.describe('guard_shaper_pauses_total', 'Times a shaper held a client back (a socket paused, WebSocket frames or a BOSH body delayed), by transport.');
  m.describe('guard_cut_total', 'Connections cut before authentication for idling or trickling, by transport.');
  m.describe('guard_connections_open', 'Connections and BOSH sessions the guard counts as open, by transport.');
}
