// A Meerkat node for the HTTPS client-certificate tests: one HTTPS listener serving BOSH
// and WebSocket that asks for client certificates (verify_mode, cafile), its server
// certificate from the test's openssl CA, and certificate-only accounts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { Logger } from '../../../server/log.ts';
import { freePort } from '../../helpers/ports.ts';
import type { CertKit } from '../external/certs.ts';

export interface HttpsServer {
  readonly server: RunningServer;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startHttpsServer(kit: CertKit, verifyMode: 'peer' | 'selfsigned_peer' | 'none', users: readonly string[]): Promise<HttpsServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-http-tls-'));
  const port = await freePort();
  const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "none"

[[listen.http]]
port = ${port}
ip_address = "127.0.0.1"
tls = true
certfile = ${JSON.stringify(kit.server.certfile)}
keyfile = ${JSON.stringify(kit.server.keyfile)}
cafile = ${JSON.stringify(kit.ca.certfile)}
verify_mode = "${verifyMode}"
[listen.http.handlers.bosh]
[listen.http.handlers.websocket]

[auth]
sasl_mechanisms = ["SCRAM-SHA-256", "PLAIN", "EXTERNAL"]
sasl_external = ["standard"]
[auth.password]
scram_iterations = 4096
`;
  const config = parseConfig(toml, 'http-tls-test.toml', {}, { baseDir: dataDir });
  let server: RunningServer;
  try {
    server = await startServer(config, { logger: new Logger() });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const credentials = await deriveCredentials('password', { iterations: 4096 });
  for (const user of users) await server.storage.users.create('localhost', user, credentials);
  return {
    server,
    port,
    async stop() {
      await server.stop('test finished');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
