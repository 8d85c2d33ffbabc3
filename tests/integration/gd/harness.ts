// Real pieces for Global Distribution tests: a redis-server (or a three-node Redis Cluster)
// of the test's own on free loopback ports, Meerkat clusters as separate `bun server/main.ts`
// processes with their own data directories and link certificates from one test CA, each
// naming its cluster, and xmpp.js users logged in to a given cluster.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { client, xml, type Client, type XmlElement } from '@xmpp/client';
import { freePort, freePorts } from '../../helpers/ports.ts';
import { trustCa } from '../../helpers/tls-trust.ts';
import { waitUntil as waitFor } from '../../helpers/wait-until.ts';
import { generateTestCa, issueCert, type TestCa } from '../../../server/tls/certs.ts';
import { openStorage } from '../../../server/storage/open.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';

const REPO = resolve(import.meta.dir, '../../..');
const BUN = join(REPO, 'node_modules/.bin/bun');
const MAIN = join(REPO, 'server/main.ts');

export const PASSWORD = 'gd-secret';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Clusters talk through Redis and TCP links: give them longer than in-process tests. */
export const waitUntil = (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> =>
  waitFor(what, check, timeoutMs, 25);

// ---- Redis ----

export interface RedisServer {
  readonly port: number;
  /** SIGSTOP: the process stays connected and answers nothing. */
  pause(): void;
  resume(): void;
  /** SIGKILL, then a fresh, empty redis-server on the same port. */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

function redisArgs(port: number, extra: string[] = []): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra];
}

async function spawnRedis(port: number, extra: string[], cwd: string): Promise<ChildProcess> {
  const proc = spawn('redis-server', redisArgs(port, extra), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitUntil(`redis-server on ${port}`, () => {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    return out.includes('Ready to accept connections');
  }, 10_000);
  return proc;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'gd-redis-'));
  let proc = await spawnRedis(port, [], dir);
  const kill = async (p: ChildProcess): Promise<void> => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    pause: () => { proc.kill('SIGSTOP'); },
    resume: () => { proc.kill('SIGCONT'); },
    async restartEmpty() {
      await kill(proc);
      proc = await spawnRedis(port, [], dir);
    },
    async stop() {
      await kill(proc);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterServers {
  /** "127.0.0.1:port" seed nodes. */
  readonly nodes: string[];
  stop(): Promise<void>;
}

/** Three masters, no replicas: the smallest Redis Cluster redis-cli will create. */
export async function startRedisCluster(): Promise<RedisClusterServers> {
  const ports = await freePorts(3);
  const dir = await mkdtemp(join(tmpdir(), 'gd-rcluster-'));
  const procs: ChildProcess[] = [];
  for (const port of ports) {
    procs.push(await spawnRedis(port, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000'], dir));
  }
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 20_000 });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout} ${created.stderr}`);
  await waitUntil('cluster state ok', () => {
    const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' });
    return info.stdout.includes('cluster_state:ok');
  });
  return {
    nodes,
    async stop() {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- certificates ----

export interface CertificateFiles {
  cert: string;
  key: string;
}

/** What a cluster presents on its links: a server certificate and a client one, both naming it. */
export interface ClusterCertificateFiles {
  server: CertificateFiles;
  client: CertificateFiles;
}

export interface GdCertificates {
  /** PEM of the CA every cluster trusts (it also signs the c2s certificate). */
  ca: string;
  files: { c2sCert: string; c2sKey: string; caFile: string };
  /**
   * Link certificates naming `name`, issued by the shared CA, or by a "stranger" CA nobody
   * trusts. Written once per (name, issuer) and reused.
   */
  forCluster(name: string, issuer?: 'shared' | 'stranger'): Promise<ClusterCertificateFiles>;
}

/** One CA for c2s and links; link certificates per cluster name, on demand. */
export async function makeCertificates(dir: string): Promise<GdCertificates> {
  const ca = await generateTestCa('GD Test CA');
  const stranger = await generateTestCa('Stranger CA');
  const c2s = await issueCert(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const files = { c2sCert: join(dir, 'c2s.pem'), c2sKey: join(dir, 'c2s.key'), caFile: join(dir, 'ca.pem') };
  await Promise.all([writeFile(files.c2sCert, c2s.cert), writeFile(files.c2sKey, c2s.key, { mode: 0o600 }), writeFile(files.caFile, ca.cert)]);
  trustCa(ca.cert);
  const issued = new Map<string, Promise<ClusterCertificateFiles>>();
  const write = async (base: string, usage: 'server' | 'client', name: string, issuer: TestCa): Promise<CertificateFiles> => {
    const pair = await issueCert(issuer, { dnsNames: [name], usage });
    const out = { cert: join(dir, `${base}-${usage}.pem`), key: join(dir, `${base}-${usage}.key`) };
    await Promise.all([writeFile(out.cert, pair.cert), writeFile(out.key, pair.key, { mode: 0o600 })]);
    return out;
  };
  const forCluster = (name: string, issuer: 'shared' | 'stranger' = 'shared'): Promise<ClusterCertificateFiles> => {
    const base = `link-${issuer}-${name}`;
    let made = issued.get(base);
    if (made === undefined) {
      const authority = issuer === 'shared' ? ca : stranger;
      made = Promise.all([write(base, 'server', name, authority), write(base, 'client', name, authority)]).then(([server, client]) => ({ server, client }));
      issued.set(base, made);
    }
    return made;
  };
  return { ca: ca.cert, files, forCluster };
}

// ---- Meerkat clusters ----

export interface ClusterOptions {
  name: string;
  certs: GdCertificates;
  redis: { port: number } | { nodes: string[] };
  users: string[];
  /** Links: how many connections to each peer. */
  connectionsPerPeer?: number;
  /** Advertise this endpoint instead of the one listened on (a proxy in front of it). */
  advertise?: (linkPort: number) => Promise<string>;
  deliveryTimeout?: string;
  /** Client certificate used when dialling peers (default: the shared CA's, naming this cluster). */
  clientCert?: CertificateFiles;
  /** Expose /metrics on a loopback admin listener (its port is `adminPort`). */
  admin?: boolean;
  componentPassword?: string;
  maxRetries?: number;
}

export interface MeerkatCluster {
  readonly name: string;
  readonly c2sPort: number;
  readonly linkPort: number;
  readonly componentPort: number;
  /** 0 without `admin`. */
  readonly adminPort: number;
  readonly dir: string;
  readonly proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<MeerkatCluster> {
  const dir = await mkdtemp(join(tmpdir(), `gd-${o.name}-`));
  const [c2sPort, linkPort, componentPort, adminPort] = await freePorts(4);
  const f = o.certs.files;
  const link = await o.certs.forCluster(o.name);
  const clientCert = o.clientCert ?? link.client;
  const adminToml = o.admin === true ? `\n[listen.admin]\nport = ${adminPort}\nip_address = "127.0.0.1"\ndashboard = false\n` : '';
  const advertised = o.advertise === undefined ? `127.0.0.1:${linkPort}` : await o.advertise(linkPort);
  const redisToml = 'port' in o.redis
    ? `host = "127.0.0.1"\nport = ${o.redis.port}`
    : `cluster_nodes = ${JSON.stringify(o.redis.nodes)}`;
  const toml = `
[general]
hosts = ["localhost"]
data_dir = ${JSON.stringify(dir)}
loglevel = "${process.env.GD_LOGLEVEL ?? 'warning'}"

[[listen.c2s]]
port = ${c2sPort}
ip_address = "127.0.0.1"
tls = "starttls"
certfile = ${JSON.stringify(f.c2sCert)}
keyfile = ${JSON.stringify(f.c2sKey)}

[[listen.component]]
port = ${componentPort}
password = ${JSON.stringify(o.componentPassword ?? 'component-secret')}
${adminToml}
[modules.mod_disco]
[modules.mod_ping]

[modules.mod_global_distrib]
global_host = "localhost"
local_host = "${o.name}"
refresh_after = "2s"
expire_after = "30s"

[modules.mod_global_distrib.connections]
endpoints = ["127.0.0.1:${linkPort}"]
advertised_endpoints = ["${advertised}"]
connections_per_endpoint = ${o.connectionsPerPeer ?? 2}
delivery_timeout = "${o.deliveryTimeout ?? '10s'}"

[modules.mod_global_distrib.connections.tls]
certfile = ${JSON.stringify(link.server.cert)}
keyfile = ${JSON.stringify(link.server.key)}
cafile = ${JSON.stringify(f.caFile)}
client_certfile = ${JSON.stringify(clientCert.cert)}
client_keyfile = ${JSON.stringify(clientCert.key)}

[modules.mod_global_distrib.bounce]
resend_after_ms = 100
max_retries = ${o.maxRetries ?? 40}

[modules.mod_global_distrib.cache]
jid_ttl = "2s"
domain_refresh = "200ms"

[outgoing_pools.redis.global_distrib]
${redisToml}
connect_timeout = "1s"
command_timeout = "500ms"
`;
  const configFile = join(dir, 'meerkat.toml');
  await writeFile(configFile, toml);
  // Accounts exist on every cluster (each has its own SQLite storage).
  const storage = await openStorage({ backend: 'sqlite', sqlite: { path: join(dir, 'meerkat.sqlite3'), synchronous: 'normal', busy_timeout: 5000 } });
  for (const user of o.users) await storage.users.create('localhost', user, await deriveCredentials(PASSWORD, { iterations: 4096 }));
  await storage.close();

  const proc = spawn(BUN, [MAIN, '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await waitUntil(`cluster ${o.name} to start`, () => {
    if (proc.exitCode !== null) throw new Error(`cluster ${o.name} exited: ${out}`);
    return out.includes('Meerkat is running');
  }, 20_000);
  return {
    name: o.name,
    c2sPort,
    linkPort,
    componentPort,
    adminPort: o.admin === true ? adminPort : 0,
    dir,
    proc,
    log: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- users ----

export interface User {
  readonly xmpp: Client;
  readonly jid: string;
  /** Every stanza received. */
  readonly seen: XmlElement[];
  messages(): XmlElement[];
  errors(): XmlElement[];
  stop(): Promise<void>;
}

export async function login(cluster: MeerkatCluster, user: string, resource = 'gd'): Promise<User> {
  const xmpp = client({ service: `xmpp://127.0.0.1:${cluster.c2sPort}`, domain: 'localhost', resource, username: user, password: PASSWORD });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  const seen: XmlElement[] = [];
  xmpp.on('stanza', (s: XmlElement) => { seen.push(s); });
  await xmpp.start();
  // Available, as a client is after login: bare-JID messages go to available resources only.
  await xmpp.send(xml('presence'));
  return {
    xmpp,
    jid: `${user}@localhost/${resource}`,
    seen,
    messages: () => seen.filter((s) => s.is('message') && s.attrs.type !== 'error'),
    errors: () => seen.filter((s) => s.attrs.type === 'error'),
    stop: async () => {
      await xmpp.stop().catch(() => {});
    },
  };
}

/** A chat message with a body; `seq` goes in the body so order can be checked. */
export function chat(to: string, body: string): XmlElement {
  return xml('message', { to, type: 'chat' }, xml('body', {}, body));
}

export function bodies(stanzas: XmlElement[]): string[] {
  return stanzas.map((s) => s.getChildText('body') ?? '');
}

/**
 * What a GD test file holds between beforeAll and afterAll: the link certificates, its
 * Redis, its clusters and the users it logged in. stop() releases them in order: users
 * log out, the file's own extras close (proxies, impostors, components), clusters stop,
 * then Redis, then the certificates go.
 */
export class GdSuite<R extends { stop(): Promise<void> }> {
  readonly clusters: MeerkatCluster[] = [];
  private readonly users: User[] = [];
  private readonly extras: Array<() => unknown> = [];

  private constructor(
    readonly certs: GdCertificates,
    readonly redis: R,
    private readonly certDir: string,
  ) {}

  static async start<R extends { stop(): Promise<void> }>(startRedisKind: () => Promise<R>): Promise<GdSuite<R>> {
    const certDir = await mkdtemp(join(tmpdir(), 'gd-certs-'));
    const [certs, redis] = await Promise.all([makeCertificates(certDir), startRedisKind()]);
    return new GdSuite(certs, redis, certDir);
  }

  /** Starts clusters and keeps them for stop(); resolves with them in the order given. */
  async addClusters(options: ClusterOptions[]): Promise<MeerkatCluster[]> {
    const started = await Promise.all(options.map((o) => startCluster(o)));
    this.clusters.push(...started);
    return started;
  }

  /** Logs `user` in on `cluster`; logged out at stop(). */
  async on(cluster: MeerkatCluster, user: string, resource = 'gd'): Promise<User> {
    const u = await login(cluster, user, resource);
    this.users.push(u);
    return u;
  }

  /** Something of the file's own to close at stop(), after the users and before the clusters. */
  alsoStop(close: () => unknown): void {
    this.extras.push(close);
  }

  async stop(): Promise<void> {
    for (const u of this.users) await u.stop();
    for (const close of this.extras) await Promise.resolve(close()).catch(() => {});
    await Promise.all(this.clusters.map((c) => c.stop()));
    await this.redis.stop();
    await rm(this.certDir, { recursive: true, force: true });
  }
}
