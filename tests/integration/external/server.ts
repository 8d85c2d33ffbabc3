// A Meerkat node for the SASL EXTERNAL tests: a STARTTLS and a direct-TLS listener that
// ask for client certificates (verify_mode, cafile), the server certificate from the
// test's openssl CA, and certificate-only accounts.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { startServer, type RunningServer } from '../../../server/server.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { Logger } from '../../../server/log.ts';
import { freePorts } from '../../helpers/ports.ts';
import type { CertKit } from './certs.ts';

export interface ExternalServer {
  readonly server: RunningServer;
  readonly starttlsPort: number;
  readonly tlsPort: number;
  stop(): Promise<void>;
}

export interface ExternalServerOptions {
  verifyMode: 'peer' | 'selfsigned_peer' | 'none';
  /** Extra TOML for [auth] and the like. */
  toml?: string;
  /** Local parts of accounts on "localhost". */
  users?: readonly string[];
}

export async function startExternalServer(kit: CertKit, options: ExternalServerOptions): Promise<ExternalServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-external-srv-'));
  const [starttlsPort, tlsPort] = await freePorts(2);
  const listener = (port: number, tls: string) => `
[[listen.c2s]]
port = ${port}
ip_address = "127.0.0.1"
tls = "${tls}"
certfile = ${JSON.stringify(kit.server.certfile)}
keyfile = ${JSON.stringify(kit.server.keyfile)}
cafile = ${JSON.stringify(kit.ca.certfile)}
verify_mode = "${options.verifyMode}"
`;
  const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "none"
${listener(starttlsPort!, 'starttls')}
${listener(tlsPort!, 'tls')}
${options.toml ?? ''}`;
  const config = parseConfig(toml, 'external-test.toml', {}, { baseDir: dataDir });
  let server: RunningServer;
  try {
    server = await startServer(config, { logger: new Logger() });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  // Few PBKDF2 iterations: these accounts log in with certificates (and one with PLAIN).
  const credentials = await deriveCredentials('password', { iterations: 4096 });
  for (const user of options.users ?? []) await server.storage.users.create('localhost', user, credentials);
  return {
    server,
    starttlsPort: starttlsPort!,
    tlsPort: tlsPort!,
    async stop() {
      await server.stop('test finished');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
