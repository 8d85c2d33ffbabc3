// A Meerkat node in a child process (bun server/main.ts --config FILE), for tests that
// measure the server's own memory, open thousands of sockets, or kill it: its own data
// directory, certificate from a test CA, free loopback ports, accounts created in its
// SQLite file before it starts. stop() sends SIGTERM (or the caller kills it) and cleans up.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig } from '../../server/config/load.ts';
import { openStorage } from '../../server/storage/open.ts';
import { deriveCredentials } from '../../server/auth/credentials.ts';
import { generateTestCa, issueCert } from '../../server/tls/certs.ts';
import { freePorts } from '../helpers/ports.ts';

const REPO = resolve(import.meta.dir, '../..');
const BUN = join(REPO, 'node_modules/.bin/bun');

export interface ChildServerOptions {
  users?: Record<string, string>;
  /** TOML appended after the generated file (the direct-TLS listener is the last table). */
  toml?: string;
  /** Reuse a data directory (restart after a kill). */
  dataDir?: string;
  /** Ports to reuse (restart). */
  ports?: { c2s: number; tls: number };
  ca?: { cert: string; leafCert: string; leafKey: string };
}

export interface ChildServer {
  readonly pid: number;
  readonly c2sPort: number;
  readonly tlsPort: number;
  readonly dataDir: string;
  readonly ca: string;
  readonly caMaterial: NonNullable<ChildServerOptions['ca']>;
  readonly process: ChildProcess;
  /** Resident set size of the server process, in bytes (from /proc). */
  rss(): number;
  /** Runs a full garbage collection in the server, then reads its RSS. */
  rssAfterGc(): Promise<number>;
  /** Open file descriptors of the server process. */
  openFds(): number;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
  /** Removes the data directory (after the process ended). */
  cleanup(): Promise<void>;
  output(): string;
}

export async function startChildServer(options: ChildServerOptions = {}): Promise<ChildServer> {
  const dataDir = options.dataDir ?? await mkdtemp(join(tmpdir(), 'meerkat-hostile-'));
  let caMaterial = options.ca;
  if (caMaterial === undefined) {
    const ca = await generateTestCa('Meerkat Hostile CA');
    const leaf = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    caMaterial = { cert: ca.cert, leafCert: leaf.cert, leafKey: leaf.key };
  }
  await writeFile(join(dataDir, 'cert.pem'), caMaterial.leafCert);
  await writeFile(join(dataDir, 'key.pem'), caMaterial.leafKey, { mode: 0o600 });
  const [c2sPort, tlsPort] = options.ports ? [options.ports.c2s, options.ports.tls] : await freePorts(2);
  const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dataDir)}
loglevel = "warning"

[auth.password]
scram_iterations = 4096

[[listen.c2s]]
port = ${c2sPort}
ip_address = "127.0.0.1"
tls = "starttls"
certfile = ${JSON.stringify(join(dataDir, 'cert.pem'))}
keyfile = ${JSON.stringify(join(dataDir, 'key.pem'))}

[[listen.c2s]]
port = ${tlsPort}
ip_address = "127.0.0.1"
tls = "tls"
certfile = ${JSON.stringify(join(dataDir, 'cert.pem'))}
keyfile = ${JSON.stringify(join(dataDir, 'key.pem'))}
${options.toml ?? ''}`;
  const configFile = join(dataDir, 'meerkat.toml');
  await writeFile(configFile, toml);

  const users = Object.entries(options.users ?? {});
  if (users.length > 0) {
    const config = parseConfig(toml, configFile, {}, { baseDir: dataDir });
    const storage = await openStorage(config.storage);
    for (const [jid, password] of users) {
      const [local, domain] = jid.split('@') as [string, string];
      await storage.users.create(domain, local, await deriveCredentials(password, { iterations: 4096 }));
    }
    await storage.close();
  }

  const child = spawn(BUN, [join(REPO, 'tests/hostile/child-entry.ts'), '--config', configFile], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MEERKAT_CONFIG: '' },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  const started = Date.now();
  while (!output.includes('Meerkat is running')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited at start:\n${output}`);
    if (Date.now() - started > 20_000) {
      child.kill('SIGKILL');
      throw new Error(`server did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  return {
    pid,
    c2sPort,
    tlsPort,
    dataDir,
    ca: caMaterial.cert,
    caMaterial,
    process: child,
    exited,
    rss: () => readRss(pid),
    async rssAfterGc() {
      const before = output.split('gc done').length;
      child.kill('SIGUSR2');
      const deadline = Date.now() + 5000;
      while (output.split('gc done').length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return readRss(pid);
    },
    openFds: () => readdirSync(`/proc/${pid}/fd`).length,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async cleanup() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
    output: () => output,
  };
}

function readRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}
