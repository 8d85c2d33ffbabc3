// Entry point: `bun server/main.ts [--config FILE]`. Without a file (and without
// ./meerkat.toml) Meerkat runs on its embedded defaults: localhost, SQLite under ./var,
// a generated dev certificate.

import { existsSync } from 'node:fs';
import { loadConfig } from './config/load.ts';
import { ConfigError } from './config/error.ts';
import { startServer } from './server.ts';
import { logger } from './log.ts';
import { runSupervisor, workerArgument, workerReadyLine, workerStartOptions } from './cluster/entry.ts';

function configPath(argv: string[]): string | undefined {
  const i = argv.indexOf('--config');
  if (i >= 0) {
    const path = argv[i + 1];
    if (!path) throw new ConfigError('(command line)', [], '--config needs a file name');
    return path;
  }
  if (process.env.MEERKAT_CONFIG) return process.env.MEERKAT_CONFIG;
  return existsSync('meerkat.toml') ? 'meerkat.toml' : undefined;
}

async function main(): Promise<void> {
  let config;
  let worker: number | undefined;
  try {
    config = await loadConfig(configPath(process.argv.slice(2)));
    worker = workerArgument(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // --- workers (server/cluster/, docs/workers.md): [general] workers > 1 makes this process
  // the supervisor; it starts `main.ts --worker i` for each worker.
  if (worker === undefined && config.general.workers > 1) return runSupervisor(config, process.argv[1]!, process.argv.slice(2));
  // --- end workers
  // `node stop` through the admin API ends the process like a signal does.
  const server = await startServer(config, { onAdminStop: () => process.exit(0), ...(worker !== undefined && workerStartOptions(config, worker)) });
  const where = server.listeners
    .map((l) => l.kind === 'c2s'
      ? `  c2s  ${l.address}:${l.port} (${l.tls === 'tls' ? 'direct TLS' : l.tls})`
      : `  http ${l.tls === 'tls' ? 'https' : 'http'}://${l.address}:${l.port}/ (BOSH /http-bind, WebSocket /ws-xmpp)`)
    .concat(server.admin ? [`  admin http://${server.admin.address}:${server.admin.port}/ (REST /api/admin, /metrics, /health, /dashboard)`] : [])
    .join('\n');
  if (worker !== undefined) process.stdout.write(workerReadyLine(worker));
  else process.stdout.write(
    `Meerkat is running for ${config.general.hosts.join(', ')}\n${where}\n` +
      `Add a user:  bin/meerkatctl user add alice@${config.general.default_server_domain} PASSWORD\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.stop(signal).then(
      () => process.exit(0),
      (err: Error) => {
        logger.error('shutdown_failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: Error) => {
  logger.error('startup_failed', { error: err });
  process.stderr.write(`Meerkat could not start: ${err.message}\n`);
  process.exit(1);
});
