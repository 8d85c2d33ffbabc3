// Meerkat: `bun server/main.ts --config <file>` from bench/load/config/meerkat.toml.
// LOAD_BENCH_CPU_PROF=<dir> makes it write a CPU profile there when it stops.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandOutput, fillTemplate, killTree, pinned, spawnServer, type LoadServer, type RunningServer } from './server.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

export const meerkat: LoadServer = {
  name: 'meerkat',
  capabilities: { scram: true, bosh: true, register: true },
  async version() {
    const rev = await commandOutput(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD']);
    return `git ${rev ?? '?'}, bun ${Bun.version}`;
  },
  async start(o): Promise<RunningServer> {
    const dataDir = join(o.workDir, 'data');
    await mkdir(dataDir, { recursive: true });
    const template = await readFile(join(ROOT, 'bench/load/config/meerkat.toml'), 'utf8');
    const config = join(o.workDir, 'meerkat.toml');
    await writeFile(config, fillTemplate(template, {
      DATA_DIR: dataDir, C2S_PORT: o.c2sPort, BOSH_PORT: o.boshPort, CERT_FILE: o.cert.certFile, KEY_FILE: o.cert.keyFile,
    }));
    const profDir = process.env.LOAD_BENCH_CPU_PROF;
    const prof = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
    const child = await spawnServer(pinned(o.cpus, [process.execPath, ...prof, join(ROOT, 'server/main.ts'), '--config', config]), { text: 'Meerkat is running' }, 30_000);
    return { pid: child.pid, boshPath: '/http-bind', stop: () => killTree(child.pid) };
  },
};
