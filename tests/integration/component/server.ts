// A test server with the component listeners these suites use, each on a free port.

import { freePorts } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { DEFAULT_MODULES } from '../../../server/config/meerkat-schema.ts';

export const SECRET = 'component-secret';

export interface ComponentTestServer {
  ts: TestServer;
  /** Defaults: conflict_behaviour = disconnect, check_from = true. */
  plain: number;
  kickOld: number;
  subdomain: number;
  noCheckFrom: number;
  hidden: number;
}

export async function startComponentTestServer(users: Record<string, string> = {}): Promise<ComponentTestServer> {
  // Our ports and the test server's own are picked separately and may collide: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(users);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startOnce(users: Record<string, string>): Promise<ComponentTestServer> {
  const [plain, kickOld, subdomain, noCheckFrom, hidden] = await freePorts(5);
  const listener = (port: number, extra = '') => `
[[listen.component]]
port = ${port}
ip_address = "127.0.0.1"
password = "${SECRET}"
${extra}`;
  // The default module set, with mod_disco hiding hidden services from local users.
  const modules = Object.keys(DEFAULT_MODULES)
    .map((name) => (name === 'mod_disco' ? `[modules.mod_disco]\nusers_can_see_hidden_services = false` : `[modules.${name}]`))
    .join('\n');
  const ts = await startTestServer({
    loglevel: (process.env.COMPONENT_TEST_LOGLEVEL as 'info' | undefined) ?? 'none',
    users,
    toml: [
      modules,
      listener(plain),
      listener(kickOld, 'conflict_behaviour = "kick_old"'),
      listener(subdomain, 'is_subdomain = true'),
      listener(noCheckFrom, 'check_from = false'),
      listener(hidden, 'hidden_components = true'),
    ].join('\n'),
  });
  return { ts, plain, kickOld, subdomain, noCheckFrom, hidden };
}
