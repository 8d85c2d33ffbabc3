// Debian's ejabberd, started in the foreground by ejabberdctl from the configs in
// bench/load/config/ (its own config dir, spool and logs under the run's work dir; the
// node name is its own, so a system ejabberd, if any, is not touched). ejabberdctl wants
// to run as the "ejabberd" user; started as root it would switch with su, whose PAM
// session resets the open-file limit to 1024, so it is started as that user with setpriv
// (limits kept) and the work dir is handed to it.

import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { commandOutput, fillTemplate, killTree, pinned, spawnServer, type LoadServer, type RunningServer } from './server.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CTL = '/usr/sbin/ejabberdctl';

export const ejabberd: LoadServer = {
  name: 'ejabberd',
  capabilities: { scram: true, bosh: true, register: true },
  async version() {
    if (!existsSync(CTL)) return undefined;
    return commandOutput(['dpkg-query', '-W', '-f', '${Version}', 'ejabberd']);
  },
  async start(o): Promise<RunningServer> {
    const configDir = join(o.workDir, 'etc');
    const spool = join(o.workDir, 'spool');
    const logs = join(o.workDir, 'logs');
    for (const d of [configDir, spool, logs]) await mkdir(d, { recursive: true });
    const template = await readFile(join(ROOT, 'bench/load/config/ejabberd.yml'), 'utf8');
    await writeFile(join(configDir, 'ejabberd.yml'), fillTemplate(template, {
      C2S_PORT: o.c2sPort, BOSH_PORT: o.boshPort, CERT_FILE: o.cert.certFile, KEY_FILE: o.cert.keyFile,
    }));
    await writeFile(join(configDir, 'ejabberdctl.cfg'), await readFile(join(ROOT, 'bench/load/config/ejabberdctl.cfg')));
    const user = await commandOutput(['id', '-u', 'ejabberd']);
    const group = await commandOutput(['id', '-g', 'ejabberd']);
    const asRoot = process.getuid?.() === 0 && user !== undefined && group !== undefined;
    if (asRoot) {
      for (const p of [o.workDir, configDir, spool, logs, join(configDir, 'ejabberd.yml'), join(configDir, 'ejabberdctl.cfg')]) await chown(p, Number(user), Number(group));
    }
    const asUser = asRoot ? ['setpriv', `--reuid=${user}`, `--regid=${group}`, '--init-groups'] : [];
    const child = await spawnServer(
      pinned(o.cpus, [...asUser, CTL, '--config-dir', configDir, '--config', join(configDir, 'ejabberd.yml'), '--ctl-config', join(configDir, 'ejabberdctl.cfg'),
        '--spool', spool, '--logs', logs, '--node', 'ejabberd-loadbench@localhost', 'foreground']),
      { port: o.boshPort },
      60_000,
      { HOME: '/var/lib/ejabberd', USER: 'ejabberd', LOGNAME: 'ejabberd' },
      o.workDir,
    );
    // The HTTP listener comes up with the c2s one; wait for both.
    await spawnReadyPort(o.c2sPort);
    return { pid: child.pid, boshPath: '/http-bind', stop: () => killTree(child.pid, 15_000) };
  },
};

async function spawnReadyPort(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const s = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {}, error() {} } });
      s.end();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`port ${port} never accepted`);
}
