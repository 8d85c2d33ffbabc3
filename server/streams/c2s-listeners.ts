// The [[listen.c2s]] TCP listeners: each accepted connection passes the guard (caps, bans,
// shaper), gets a TCP transport and a C2sStream over the listener's env.

import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import type { C2sListenerConfig } from '../config/listen.ts';
import { createAccessControl } from '../config/access.ts';
import type { Logger } from '../log.ts';
import { NS_CLIENT } from '../ns.ts';
import type { Runtime, TcpListener, TlsCredentials } from '../runtime/types.ts';
import { listenerTlsCredentials } from '../tls/material.ts';
import type { ConnectionGuard } from '../guard/guard.ts';
import { ListenerGuard } from '../guard/listener-guard.ts';
import { CUT_ERRORS } from '../guard/progress-watch.ts';
import { shaperRate } from '../guard/settings.ts';
import { C2sStream } from './c2s.ts';
import type { C2sEnv } from './c2s-env.ts';
import { TcpTransport } from './tcp-transport.ts';

export interface C2sListenerInfo {
  kind: 'c2s';
  tls: C2sListenerConfig['tls'];
  address: string;
  port: number;
}

export interface C2sListeners {
  readonly listeners: readonly C2sListenerInfo[];
  /** The certificate c2s TLS uses (the dev certificate unless configured). */
  readonly tlsCertificate: string | undefined;
  readonly openStreams: number;
  /** Stops accepting, then ends every stream with <system-shutdown/>. */
  stop(): void;
}

export interface C2sListenerDeps {
  runtime: Runtime;
  config: MeerkatConfig;
  guard: ConnectionGuard;
  log: Logger;
  /** Share the ports with the node's other worker processes. */
  reusePort: boolean;
  /** The env streams of this listener run against (the TLS for STARTTLS is set per listener). */
  envFor(listen: C2sListenerConfig, tls: TlsCredentials | undefined): C2sEnv;
}

export async function startC2sListeners(deps: C2sListenerDeps): Promise<C2sListeners> {
  const { runtime, config, guard, log } = deps;
  const accessControl = createAccessControl(config);
  const streams = new Set<C2sStream>();
  const tcpListeners: TcpListener[] = [];
  const listeners: C2sListenerInfo[] = [];
  let tlsCertificate: string | undefined;

  for (const listen of config.listen.c2s) {
    const tls = listen.tls === 'none' ? undefined : await listenerTlsCredentials(listen, config.general, log);
    tlsCertificate ??= tls?.cert;
    const env = deps.envFor(listen, tls);
    const startTls = listen.tls === 'starttls' || listen.tls === 'starttls_required' ? tls : undefined;
    const listenerGuard = new ListenerGuard(guard, {
      shaperRate: shaperRate(config, listen.shaper),
      clientAccess: listen.access,
      componentAccess: undefined,
      accessControl,
    });
    const listener = await runtime.listenTcp(
      { hostname: listen.ip_address, port: listen.port, tls: listen.tls === 'tls' ? tls : undefined, ...(deps.reusePort && { reusePort: true }) },
      (accepted) => {
        // The guard sees the connection first: refused ones never reach a stream.
        let cutStream: ((reason: 'idle' | 'too-slow') => void) | undefined;
        const conn = listenerGuard.accept(accepted, 'c2s', (r) => cutStream?.(r));
        if (conn === undefined) return;
        const transport = new TcpTransport(conn, NS_CLIENT, startTls);
        const stream = new C2sStream(transport, listenerGuard.clientEnv(env, accepted.remoteAddress, 'c2s', () => conn.markAuthenticated()));
        cutStream = (reason) => stream.closeWith(CUT_ERRORS[reason].condition, CUT_ERRORS[reason].text);
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
      },
    );
    tcpListeners.push(listener);
    listeners.push({ kind: 'c2s', tls: listen.tls, address: listen.ip_address, port: listener.port });
    log.info('listener_started', { kind: 'c2s', address: listen.ip_address, port: listener.port, tls: listen.tls });
  }

  return {
    listeners,
    tlsCertificate,
    get openStreams() {
      return streams.size;
    },
    stop() {
      for (const l of tcpListeners) l.stop();
      for (const stream of [...streams]) stream.closeWith('system-shutdown', 'the server is shutting down');
    },
  };
}
