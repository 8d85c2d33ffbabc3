// The plain relay (../relay.ts) as a benchmark target: the throughput ceiling.

import { join } from 'node:path';
import { PASSWORD } from '../protocol.ts';
import { freePort } from '../ports.ts';
import { spawnUntilReady, stopChild, type RunningTarget, type Target } from './target.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

export const relay: Target = {
  name: 'relay',
  description: 'plain relay: fixed login answers, then every chunk written to the partner unparsed',
  async start(o): Promise<RunningTarget> {
    const port = await freePort();
    const args = [join(ROOT, 'bench/route/relay.ts'), '--port', String(port)];
    if (o.transport === 'tls') args.push('--cert', o.cert.certFile, '--key', o.cert.keyFile);
    const child = await spawnUntilReady(args, 'relay ready', 10_000);
    return { pid: child.pid, port, domain: 'localhost', password: PASSWORD, stop: () => stopChild(child) };
  },
};
