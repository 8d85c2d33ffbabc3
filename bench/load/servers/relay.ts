// The plain TCP relay of bench/route (--by-to: each message written unparsed to the
// socket of the user in its 'to'): the ceiling for chat. It answers PLAIN logins with
// fixed bytes and does no SCRAM, BOSH or registration.

import { join } from 'node:path';
import { killTree, pinned, spawnServer, type LoadServer, type RunningServer } from './server.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

export const relay: LoadServer = {
  name: 'relay',
  capabilities: { scram: false, bosh: false, register: false },
  async version() {
    return `bench/route/relay.ts, bun ${Bun.version}`;
  },
  async start(o): Promise<RunningServer> {
    const child = await spawnServer(
      pinned(o.cpus, [process.execPath, join(ROOT, 'bench/route/relay.ts'), '--port', String(o.c2sPort), '--cert', o.cert.certFile, '--key', o.cert.keyFile, '--by-to']),
      { text: 'relay ready' },
      10_000,
    );
    return { pid: child.pid, boshPath: '', stop: () => killTree(child.pid) };
  },
};
