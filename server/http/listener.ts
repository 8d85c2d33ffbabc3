// Starts one [[listen.http]] listener: the Hono app served by the runtime. server.ts calls
// this with the same C2sEnv its TCP listeners use, so every transport shares one stream logic.

import { listenerVerifyMode, type ComponentListenerConfig, type HttpListenerConfig } from '../config/listen.ts';
import type { ComponentEnv } from '../streams/component-env.ts';
import type { Logger } from '../log.ts';
import type { HttpServer, Runtime, TlsCredentials } from '../runtime/types.ts';
import type { C2sEnv } from '../streams/c2s-env.ts';
import type { Element } from '../xml/element.ts';
import type { ListenerGuard } from '../guard/listener-guard.ts';
import { createHttpApp, type HttpApp } from './app.ts';
import { httpOptionsFromConfig } from './options.ts';

export interface HttpListener {
  readonly port: number;
  readonly app: HttpApp;
  /** Ends BOSH sessions (system-shutdown), then stops serving. */
  stop(): Promise<void>;
}

export async function startHttpListener(
  runtime: Runtime,
  config: HttpListenerConfig,
  deps: {
    log: Logger;
    c2s: C2sEnv;
    tls: TlsCredentials | undefined;
    undelivered(jid: string | undefined, stanzas: Element[]): void;
    /** Environment of components accepted on the WebSocket endpoint (see `websocketComponentListener`). */
    component?: ComponentEnv;
    /** The node's guard as this listener sees it (caps, bans, its shaper and access rules). */
    guard: ListenerGuard;
  },
): Promise<HttpListener> {
  const verifyMode = listenerVerifyMode(config);
  if (verifyMode !== 'none' && !config.tls) {
    throw new RangeError(`listen.http (port ${config.port}): verify_mode = "${verifyMode}" needs tls = true (client certificates come with HTTPS)`);
  }
  const options = httpOptionsFromConfig(config);
  const app = createHttpApp({ log: deps.log, c2s: deps.c2s, options, undelivered: deps.undelivered, component: deps.component, guard: deps.guard });
  const server: HttpServer = await runtime.serveHttp(
    {
      hostname: config.ip_address,
      port: config.port,
      tls: config.tls ? deps.tls : undefined,
      idleTimeoutMs: config.idle_timeout,
      websocket: options.websocket && { idleTimeoutMs: options.websocket.idleTimeoutMs, maxPayloadBytes: options.websocket.maxFrameBytes },
    },
    (request, info) => app.app.fetch(request, info),
  );
  deps.log.info('listener_started', { kind: 'http', address: config.ip_address, port: server.port, tls: config.tls });
  return {
    port: server.port,
    app,
    async stop() {
      app.shutdown();
      await server.stop();
    },
  };
}

/**
 * The component settings of an HTTP listener's WebSocket endpoint, in the shape of a
 * [[listen.component]] listener (so components get the same environment whichever way
 * they connect); undefined when the endpoint accepts no components.
 */
export function websocketComponentListener(config: HttpListenerConfig): ComponentListenerConfig | undefined {
  const component = config.handlers.websocket?.component;
  if (component === undefined) return undefined;
  return {
    ...component,
    port: config.port,
    ip_address: config.ip_address,
    max_stanza_size: config.max_stanza_size,
    // The WebSocket's frames are shaped as a whole (server/guard/frame-gate.ts), whoever speaks.
    shaper: config.shaper,
    // The listener's own rule is about users; components have theirs in the component table.
    access: component.access,
    backlog: config.backlog,
  };
}
