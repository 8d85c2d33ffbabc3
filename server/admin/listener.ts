// Starts the [listen.admin] listener: the admin app (rest.ts) served by the runtime layer.

import type { AdminListenerConfig } from '../config/listen.ts';
import { ConfigError } from '../config/error.ts';
import type { Logger } from '../log.ts';
import type { HttpServer, Runtime } from '../runtime/types.ts';
import { CredentialCheck } from './auth.ts';
import type { AdminCommand } from './command.ts';
import { loadOrCreateLocalToken } from './local-token.ts';
import type { AdminNode } from './node.ts';
import { createAdminApp } from './rest.ts';

export interface AdminListener {
  readonly address: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface AdminListenerDeps {
  readonly node: AdminNode;
  commands(): readonly AdminCommand[];
  readonly log: Logger;
  readonly dataDir: string;
  readonly version: string;
  /** Where the configuration came from, for error messages. */
  readonly source: string;
}

export async function credentialsFor(config: AdminListenerConfig, dataDir: string, source: string): Promise<CredentialCheck> {
  if ((config.username === undefined) !== (config.password === undefined)) {
    throw new ConfigError(source, ['listen', 'admin', config.username === undefined ? 'username' : 'password'], 'username and password go together (HTTP Basic)');
  }
  const tokens = [...config.tokens];
  if (config.local_token) tokens.push(await loadOrCreateLocalToken(dataDir));
  if (tokens.length === 0 && config.username === undefined) {
    throw new ConfigError(source, ['listen', 'admin'], 'no credentials: set username and password, tokens, or local_token = true');
  }
  return new CredentialCheck({
    basic: config.username !== undefined && config.password !== undefined ? { username: config.username, password: config.password } : undefined,
    tokens,
  });
}

export async function startAdminListener(runtime: Runtime, config: AdminListenerConfig, deps: AdminListenerDeps): Promise<AdminListener> {
  const credentials = await credentialsFor(config, deps.dataDir, deps.source);
  const app = createAdminApp({
    node: deps.node,
    commands: deps.commands,
    credentials,
    version: deps.version,
    options: { metrics: config.metrics, metricsAuth: config.metrics_auth, dashboard: config.dashboard, maxBodyBytes: config.max_body_size },
  });
  const server: HttpServer = await runtime.serveHttp({ hostname: config.ip_address, port: config.port }, (request) => app.fetch(request));
  deps.log.info('listener_started', { kind: 'admin', address: config.ip_address, port: server.port });
  return { address: config.ip_address, port: server.port, stop: () => server.stop() };
}
