// The command-line side of workers: `server/main.ts` with [general] workers > 1 becomes the
// supervisor; `server/main.ts --worker i` (started by it) becomes worker i.

import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { ConfigError } from '../config/error.ts';
import { logger as rootLogger } from '../log.ts';
import type { StartOptions } from '../server.ts';
import { startSupervisor, WORKER_READY } from './supervisor.ts';

/** The value of --worker, if given. */
export function workerArgument(argv: string[]): number | undefined {
  const i = argv.indexOf('--worker');
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError('(command line)', [], '--worker needs a worker number');
  return n;
}

/** What startServer needs to run as worker `index`. */
export function workerStartOptions(config: MeerkatConfig, index: number): StartOptions {
  if (index >= config.general.workers) throw new ConfigError('(command line)', [], `--worker ${index}: [general] workers is ${config.general.workers}`);
  rootLogger.setLevel(config.general.loglevel);
  return {
    worker: { index, count: config.general.workers },
    logger: rootLogger.child({ worker: index }),
    // `node stop` from the admin API stops the whole node, not one worker the supervisor would restart.
    onAdminStop: () => process.kill(process.ppid, 'SIGTERM'),
  };
}

export function workerReadyLine(index: number): string {
  return `${WORKER_READY}: worker ${index} (pid ${process.pid})\n`;
}

/** Runs the supervisor until SIGTERM/SIGINT, then exits. */
export async function runSupervisor(config: MeerkatConfig, entry: string, argv: string[]): Promise<void> {
  const log = rootLogger;
  log.setLevel(config.general.loglevel);
  const supervisor = await startSupervisor({ config, entry, args: argv, log, runtimeArgs: process.execArgv });
  const listeners = config.listen.c2s.map((l) => `  c2s  ${l.ip_address}:${l.port} (${l.tls === 'tls' ? 'direct TLS' : l.tls}), all workers`)
    .concat(config.listen.http.map((l) => `  http ${l.tls ? 'https' : 'http'}://${l.ip_address}:${l.port}/, worker 0`))
    .concat(config.listen.admin ? [`  admin http://${config.listen.admin.ip_address}:${config.listen.admin.port}/, worker 0`] : []);
  process.stdout.write(
    `Meerkat is running for ${config.general.hosts.join(', ')} with ${config.general.workers} workers (pids ${supervisor.pids().join(', ')})\n${listeners.join('\n')}\n`,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info('supervisor_stopping', { signal });
    supervisor.stop('SIGTERM').then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
