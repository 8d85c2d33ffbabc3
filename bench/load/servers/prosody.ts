// Debian's Prosody, `prosody --config <file>` from bench/load/config/prosody.cfg.lua, its
// data under the run's work dir; runs in the foreground as a plain child.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { commandOutput, fillTemplate, killTree, pinned, spawnServer, type LoadServer, type RunningServer } from './server.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = '/usr/bin/prosody';

export const prosody: LoadServer = {
  name: 'prosody',
  capabilities: { scram: true, bosh: true, register: true },
  async version() {
    if (!existsSync(BIN)) return undefined;
    return commandOutput(['dpkg-query', '-W', '-f', '${Version}', 'prosody']);
  },
  async start(o): Promise<RunningServer> {
    const dataDir = join(o.workDir, 'data');
    await mkdir(dataDir, { recursive: true });
    const template = await readFile(join(ROOT, 'bench/load/config/prosody.cfg.lua'), 'utf8');
    const config = join(o.workDir, 'prosody.cfg.lua');
    await writeFile(config, fillTemplate(template, {
      DATA_DIR: dataDir, C2S_PORT: o.c2sPort, BOSH_PORT: o.boshPort, CERT_FILE: o.cert.certFile, KEY_FILE: o.cert.keyFile,
    }));
    const child = await spawnServer(pinned(o.cpus, [BIN, '--config', config]), { port: o.c2sPort }, 30_000, {}, o.workDir);
    return { pid: child.pid, boshPath: '/http-bind', stop: () => killTree(child.pid) };
  },
};
