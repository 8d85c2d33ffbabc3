// Starts the [[listen.component]] listeners: one TCP listener each, every connection a
// ComponentStream over a TcpTransport in the jabber:component:accept namespace, all
// sharing the node's ComponentRegistry. Each accepted connection passes the guard first
// (caps, bans, the listener's shaper and pre-handshake progress watch; failed handshakes
// count toward the per-IP ban; the listener's access rule is judged on the claimed
// domains). server.ts calls this once.

import type { ComponentListenerConfig } from '../config/listen.ts';
import type { Core } from '../core/node.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { Runtime, TcpListener } from '../runtime/types.ts';
import { NS_COMPONENT_ACCEPT } from '../ns.ts';
import { DEFAULT_LIMITS, PREAUTH_LIMITS } from '../../parser-wasm/host/limits.ts';
import { ComponentStream } from '../streams/component.ts';
import type { ComponentEnv } from '../streams/component-env.ts';
import { TcpTransport } from '../streams/tcp-transport.ts';
import { ComponentRegistry } from './registry.ts';
import type { ListenerGuard } from '../guard/listener-guard.ts';
import { CUT_ERRORS } from '../guard/progress-watch.ts';

export interface ComponentListenerInfo {
  kind: 'component';
  address: string;
  port: number;
  hidden: boolean;
}

export interface ComponentListeners {
  readonly registry: ComponentRegistry;
  readonly listeners: readonly ComponentListenerInfo[];
  /** Stops accepting, closes every component stream with system-shutdown. */
  stop(): void;
}

export interface ComponentListenerDeps {
  runtime: Runtime;
  core: Core;
  log: Logger;
  metrics: Metrics;
  /** How long a connection may take to complete the handshake (the guard's preauth_timeout). */
  handshakeTimeoutMs?: number;
  /** The guard as one listener sees it (its shaper and access rule). */
  guardFor(config: ComponentListenerConfig): ListenerGuard;
}

export function componentEnv(config: ComponentListenerConfig, listenerPort: number, registry: ComponentRegistry, deps: ComponentListenerDeps): ComponentEnv {
  const { core, log, metrics } = deps;
  const hosts = new Set(core.hosts);
  return {
    log,
    secret: config.password,
    hidden: config.hidden_components,
    checkFrom: config.check_from,
    subdomainByDefault: config.is_subdomain,
    conflictBehaviour: config.conflict_behaviour,
    listenerPort,
    hosts: core.hosts,
    isServedHost: (d) => hosts.has(d),
    registry,
    router: core.router,
    limits: {
      preauth: { ...PREAUTH_LIMITS },
      authenticated: { ...DEFAULT_LIMITS, maxStanzaBytes: config.max_stanza_size },
      handshakeTimeoutMs: deps.handshakeTimeoutMs ?? 30_000,
      maxOutboundBytes: 4 * 1024 * 1024,
    },
    count: (what, labels) => metrics.inc(`${what}_total`, labels),
  };
}

export async function startComponentListeners(configs: readonly ComponentListenerConfig[], deps: ComponentListenerDeps): Promise<ComponentListeners> {
  const registry = new ComponentRegistry(deps.core.router, deps.core.hooks, deps.log);
  const tcpListeners: TcpListener[] = [];
  const listeners: ComponentListenerInfo[] = [];
  const streams = new Set<ComponentStream>();
  deps.metrics.gauge('components_connected', () => registry.listComponents().length);
  try {
    for (const config of configs) {
      const env = componentEnv(config, config.port, registry, deps);
      const guard = deps.guardFor(config);
      const listener = await deps.runtime.listenTcp({ hostname: config.ip_address, port: config.port }, (accepted) => {
        // The guard sees the connection first: refused ones never reach a stream.
        let cutStream: ((reason: 'idle' | 'too-slow') => void) | undefined;
        const conn = guard.accept(accepted, 'component', (reason) => cutStream?.(reason));
        if (conn === undefined) return;
        const transport = new TcpTransport(conn, NS_COMPONENT_ACCEPT, undefined);
        const stream = new ComponentStream(transport, guard.componentEnv(env, accepted.remoteAddress, 'component', () => conn.markAuthenticated()));
        cutStream = (reason) => stream.kick(CUT_ERRORS[reason].condition, CUT_ERRORS[reason].text);
        streams.add(stream);
        transport.start({
          onStreamOpen: (h) => stream.onStreamOpen(h),
          onStanza: (s) => stream.onStanza(s),
          onStreamClose: () => stream.onStreamClose(),
          onError: (e) => stream.onError(e),
          onTransportClosed: () => {
            streams.delete(stream);
            stream.onTransportClosed();
          },
        });
      });
      tcpListeners.push(listener);
      listeners.push({ kind: 'component', address: config.ip_address, port: listener.port, hidden: config.hidden_components });
      deps.log.info('listener_started', { kind: 'component', address: config.ip_address, port: listener.port, hidden: config.hidden_components });
    }
  } catch (err) {
    for (const l of tcpListeners) l.stop();
    registry.stop();
    throw err;
  }
  return {
    registry,
    listeners,
    stop() {
      for (const l of tcpListeners) l.stop();
      for (const stream of [...streams]) stream.kick('system-shutdown', 'the server is shutting down');
      registry.stop();
    },
  };
}
