// The benchmarked Meerkat, in its own process so that clients and server do not share an
// event loop: a plain-TCP c2s listener (tls = "none") and one HTTP listener (BOSH and
// WebSocket) on loopback, accounts u0…u<n-1> with password "bench". Prints the ports as
// one JSON line, then runs until its stdin closes.
//
//   bun bench/http/server-main.ts <accounts> <c2sPort> <httpPort>

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveCredentials } from '../../server/auth/credentials.ts';
import { parseConfig } from '../../server/config/load.ts';
import { Logger } from '../../server/log.ts';
import { startServer } from '../../server/server.ts';

const [accounts, c2sPort, httpPort] = process.argv.slice(2).map(Number) as [number, number, number];
const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-bench-http-'));
const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "none"

[[listen.c2s]]
port = ${c2sPort}
ip_address = "127.0.0.1"
tls = "none"

[[listen.http]]
port = ${httpPort}
ip_address = "127.0.0.1"

[listen.http.handlers.bosh]
max_wait = "60s"

[listen.http.handlers.websocket]
`;
const config = parseConfig(toml, 'bench-http.toml', {}, { baseDir: dataDir });
const server = await startServer(config, { logger: new Logger() });
// One derivation serves every account: the salt is per account only in real deployments.
const credentials = await deriveCredentials('bench', { iterations: 4096 });
for (let i = 0; i < accounts; i++) await server.storage.users.create('localhost', `u${i}`, credentials);
process.stdout.write(JSON.stringify({ c2sPort, httpPort }) + '\n');

const stop = async () => {
  await server.stop('benchmark finished');
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
