// Meerkat with zero-copy forwarding defeated, for the end-to-end comparison: the same
// start-up as server/main.ts plus mod_bench_serialize, which calls packet.edit() on every
// packet about to be delivered. An edited packet is written by serializing its Element
// (toElement, then serialize with from/to set), exactly what happens when a real module
// changes a stanza. Nothing else differs.
//
//   bun bench/route/serializing-main.ts --config FILE   (FILE must list [modules.mod_bench_serialize])

import { loadConfig } from '../../server/config/load.ts';
import { startServer } from '../../server/server.ts';
import { defineModule, type ModuleDefinition } from '../../server/core/registry.ts';
import { s } from '../../server/config/schema.ts';

const schema = s.object({});

const modBenchSerialize = defineModule<Record<string, never>>({
  name: 'mod_bench_serialize',
  defaults: {},
  schema,
  start(_host, _opts, ctx) {
    ctx.addHook('user_receive_packet', ({ packet }) => {
      if (packet.zeroCopy) packet.edit();
    });
  },
});

const i = process.argv.indexOf('--config');
const config = await loadConfig(i >= 0 ? process.argv[i + 1] : undefined);
const server = await startServer(config, { modules: [modBenchSerialize as ModuleDefinition<unknown>] });
process.stdout.write(`Meerkat is running (serializing every delivery) on port ${server.listeners[0]?.port}\n`);
const stop = (): void => {
  server.stop('SIGTERM').then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
