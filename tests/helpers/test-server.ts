// Starts a real Meerkat node in this test process: a temporary data directory, a
// STARTTLS listener and a direct-TLS listener on free loopback ports, a certificate from a
// throwaway test CA, and the accounts a suite needs. stop() shuts it down and removes
// everything it created.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../server/config/load.ts';
import { startServer, type RunningServer } from '../../server/server.ts';
import type { ModuleDefinition } from '../../server/core/registry.ts';
import { deriveCredentials } from '../../server/auth/credentials.ts';
import { parseJid } from '../../server/jid.ts';
import { generateTestCa, issueCert, type TestCa } from '../../server/tls/certs.ts';
import { Logger } from '../../server/log.ts';
import { freePorts } from './ports.ts';

export interface TestServerOptions {
  /** Extra TOML appended to the generated configuration (e.g. [auth] or [modules] tables). */
  toml?: string;
  /** Accounts to create: bare JID → password. */
  users?: Record<string, string>;
  preauthTimeoutMs?: number;
  modules?: ModuleDefinition<unknown>[];
  /** Log level for the run (default "none": tests assert on the wire, not on logs). */
  loglevel?: 'debug' | 'info' | 'warning' | 'error' | 'none';
}

export interface TestServer {
  readonly server: RunningServer;
  readonly host: string;
  /** STARTTLS listener. */
  readonly c2sPort: number;
  /** Direct TLS listener (XEP-0368). */
  readonly tlsPort: number;
  /** PEM of the CA that issued the server's certificate. */
  readonly ca: string;
  readonly dataDir: string;
  addUser(jid: string, password: string): Promise<void>;
  stop(): Promise<void>;
}

// One CA per test process: generating keys is cheap, but there is no reason to repeat it.
let sharedCa: Promise<{ ca: TestCa; cert: string; key: string }> | undefined;

function testCertificate(): Promise<{ ca: TestCa; cert: string; key: string }> {
  sharedCa ??= (async () => {
    const ca = await generateTestCa('Meerkat Test CA');
    const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    return { ca, cert: leaf.cert, key: leaf.key };
  })();
  return sharedCa;
}

// Few PBKDF2 iterations keep account creation fast; RFC 7677's minimum is 4096.
const TEST_ITERATIONS = 4096;

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-test-'));
  const { ca, cert, key } = await testCertificate();
  const certfile = join(dataDir, 'cert.pem');
  const keyfile = join(dataDir, 'key.pem');
  await writeFile(certfile, cert);
  await writeFile(keyfile, key, { mode: 0o600 });
  const [c2sPort, tlsPort] = await freePorts(2);

  const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "${options.loglevel ?? 'none'}"

[[listen.c2s]]
port = ${c2sPort}
ip_address = "127.0.0.1"
tls = "starttls"
certfile = ${JSON.stringify(certfile)}
keyfile = ${JSON.stringify(keyfile)}

[[listen.c2s]]
port = ${tlsPort}
ip_address = "127.0.0.1"
tls = "tls"
certfile = ${JSON.stringify(certfile)}
keyfile = ${JSON.stringify(keyfile)}
${options.toml ?? ''}`;
  const config = parseConfig(toml, 'test-server.toml', {}, { baseDir: dataDir });

  let server: RunningServer;
  try {
    server = await startServer(config, { preauthTimeoutMs: options.preauthTimeoutMs, modules: options.modules, logger: new Logger() });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const addUser = async (jid: string, password: string): Promise<void> => {
    const parsed = parseJid(jid);
    const credentials = await deriveCredentials(password, { iterations: TEST_ITERATIONS });
    const created = await server.storage.users.create(parsed.domain, parsed.local, credentials);
    if (!created) throw new Error(`test server: ${jid} already exists`);
  };
  await Promise.all(Object.entries(options.users ?? {}).map(([jid, pw]) => addUser(jid, pw)));

  let stopped = false;
  return {
    server,
    host: 'localhost',
    c2sPort,
    tlsPort,
    ca: ca.cert,
    dataDir,
    addUser,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop('test finished');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
