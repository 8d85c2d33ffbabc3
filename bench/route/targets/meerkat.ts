// Meerkat as a benchmark target: a throwaway data directory, one c2s listener on a free
// loopback port (direct TLS, or plain for the transport comparison), the bench accounts
// created in its SQLite database, then `bun server/main.ts --config <file>` as a child.
//
// The "meerkat-serialize" variant runs the same server through serializing-main.ts, which
// adds one module that edits every delivered packet, so each delivery serializes the
// element instead of splicing the original bytes.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { PASSWORD, receiverName, senderName } from '../protocol.ts';
import { freePort } from '../ports.ts';
import { spawnUntilReady, stopChild, type RunningTarget, type Target, type TargetOptions } from './target.ts';

const DOMAIN = 'localhost';
const ROOT = new URL('../../../', import.meta.url).pathname;

// Logins are setup, not what is measured: RFC 7677's minimum iteration count, one
// derivation shared by every bench account, and SHA-1 only (PLAIN verifies against the
// strongest stored hash, so fewer hashes mean a cheaper check per login).
const CREDENTIALS = deriveCredentials(PASSWORD, { iterations: 4096, hashes: ['SHA-1'] });

async function configFile(o: TargetOptions, port: number, extraModules: string): Promise<string> {
  const dataDir = join(o.workDir, 'data');
  const tls = o.transport === 'tls' ? `tls = "tls"\ncertfile = ${JSON.stringify(o.cert.certFile)}\nkeyfile = ${JSON.stringify(o.cert.keyFile)}` : 'tls = "none"';
  const toml = `[general]
hosts = ["${DOMAIN}"]
data_dir = ${JSON.stringify(dataDir)}
# info would log every login; warnings (slow consumers, errors) still show.
loglevel = "warning"

[[listen.c2s]]
port = ${port}
ip_address = "127.0.0.1"
${tls}
backlog = 4096

# Every load connection comes from 127.0.0.1: lift the per-address cap (security defaults).
[guard]
max_connections_per_ip = 1000000

[modules.mod_ping]
${extraModules}
`;
  const path = join(o.workDir, 'meerkat.toml');
  await writeFile(path, toml);
  const config = parseConfig(toml, path, {}, { baseDir: o.workDir });
  const storage = await openStorage(config.storage);
  try {
    const credentials = await CREDENTIALS;
    for (let i = 0; i < o.pairs; i++) {
      await storage.users.create(DOMAIN, senderName(i), credentials);
      await storage.users.create(DOMAIN, receiverName(i), credentials);
    }
  } finally {
    await storage.close();
  }
  return path;
}

function meerkatTarget(name: string, description: string, entry: string, extraModules: string): Target {
  return {
    name,
    description,
    async start(o): Promise<RunningTarget> {
      const port = await freePort();
      const config = await configFile(o, port, extraModules);
      // MEERKAT_BENCH_CPU_PROF=<dir>: the server writes a CPU profile there when it stops.
      const profDir = process.env.MEERKAT_BENCH_CPU_PROF;
      const prof = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
      const child = await spawnUntilReady([...prof, join(ROOT, entry), '--config', config], 'Meerkat is running', 30_000);
      return { pid: child.pid, port, domain: DOMAIN, password: PASSWORD, stop: () => stopChild(child) };
    },
  };
}

export const meerkat = meerkatTarget('meerkat', 'Meerkat (server/main.ts), zero-copy forwarding', 'server/main.ts', '');

export const meerkatSerialize = meerkatTarget(
  'meerkat-serialize',
  'Meerkat with every delivered packet edited (serialized, not spliced)',
  'bench/route/serializing-main.ts',
  '[modules.mod_bench_serialize]\n',
);
