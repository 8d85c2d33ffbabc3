// Starting and stopping the servers of the differential check, each as a plain process
// with its own configuration and data directory on a free loopback port. Every process
// started here is stopped by stop(), by its own pid.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';

export interface RunningPeer {
  name: string;
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before listening`);
    const open = await new Promise<boolean>((ok) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); ok(true); });
      s.once('error', () => ok(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function stopper(child: ChildProcess, extra?: () => void): () => Promise<void> {
  return async () => {
    extra?.();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    clearTimeout(timer);
  };
}

export function ensureInstalled(): void {
  const missing = [['prosody', '/usr/bin/prosody'], ['ejabberd', '/usr/sbin/ejabberdctl']]
    .filter(([, bin]) => spawnSync('test', ['-x', bin!]).status !== 0).map(([pkg]) => pkg!);
  if (missing.length === 0) return;
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
}

export async function startMeerkat(dir: string): Promise<RunningPeer> {
  const port = await freePort();
  const repo = resolve(import.meta.dir, '../..');
  mkdirSync(join(dir, 'meerkat'), { recursive: true });
  const config = join(dir, 'meerkat', 'meerkat.toml');
  writeFileSync(config, `[general]\nhosts = ["localhost"]\ndata_dir = ${JSON.stringify(join(dir, 'meerkat'))}\nloglevel = "none"\n\n[[listen.c2s]]\nport = ${port}\nip_address = "127.0.0.1"\ntls = "starttls"\n`);
  const child = spawn(join(repo, 'node_modules/.bin/bun'), [join(repo, 'server/main.ts'), '--config', config], { stdio: 'ignore' });
  await waitForPort(port, child, 'meerkat');
  return { name: 'meerkat', port, stop: stopper(child) };
}

export async function startProsody(dir: string): Promise<RunningPeer> {
  const port = await freePort();
  const base = join(dir, 'prosody');
  mkdirSync(join(base, 'data'), { recursive: true });
  const config = join(base, 'prosody.cfg.lua');
  writeFileSync(config, `
daemonize = false
run_as_root = true
pidfile = "${base}/prosody.pid"
data_path = "${base}/data"
log = { info = "${base}/prosody.log" }
interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
modules_enabled = { "roster", "saslauth", "disco", "ping" }
modules_disabled = { "s2s", "tls" }
authentication = "internal_hashed"
VirtualHost "localhost"
`);
  const child = spawn('/usr/bin/prosody', ['--config', config], { stdio: 'ignore' });
  await waitForPort(port, child, 'prosody');
  return { name: 'prosody', port, stop: stopper(child) };
}

export async function startEjabberd(dir: string): Promise<RunningPeer> {
  const port = await freePort();
  const base = join(dir, 'ejabberd');
  mkdirSync(join(base, 'spool'), { recursive: true });
  writeFileSync(join(base, 'ejabberd.yml'), `
hosts:
  - localhost
loglevel: warning
log_rotate_count: 0
listen:
  -
    port: ${port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    max_stanza_size: 65536
auth_method: internal
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
modules:
  mod_disco: {}
  mod_ping: {}
`);
  // Run by root, ejabberdctl drops to the ejabberd user: it must be able to reach and
  // write its own directory (and nothing else of ours).
  if (process.getuid?.() === 0 && spawnSync('id', ['ejabberd'], { stdio: 'ignore' }).status === 0) {
    chmodSync(dir, 0o711);
    spawnSync('chown', ['-R', 'ejabberd:ejabberd', base]);
  }
  const node = `meerkatdiff${process.pid}@localhost`;
  const args = ['--config-dir', base, '--config', join(base, 'ejabberd.yml'), '--logs', base, '--spool', join(base, 'spool'), '--node', node];
  const child = spawn('/usr/sbin/ejabberdctl', [...args, 'foreground'], { stdio: 'ignore', env: { ...process.env, HOME: base } });
  await waitForPort(port, child, 'ejabberd', 60_000);
  // The Erlang VM runs under su, apart from the child we hold: it is found by its node
  // name, which is unique to this run, and ended by pid.
  const vmPids = () => (spawnSync('pgrep', ['-f', `-sname ${node} `], { encoding: 'utf8' }).stdout ?? '')
    .split('\n').map(Number).filter((pid) => pid > 0 && pid !== process.pid);
  const stopVm = async () => {
    spawnSync('/usr/sbin/ejabberdctl', [...args, 'stop'], { stdio: 'ignore', env: { ...process.env, HOME: base }, timeout: 15_000 });
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      for (const pid of vmPids()) {
        try { process.kill(pid, signal); } catch { /* already gone */ }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const stopChild = stopper(child);
  return {
    name: 'ejabberd',
    port,
    stop: async () => {
      await stopVm();
      await stopChild();
    },
  };
}
