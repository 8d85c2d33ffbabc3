// One node for admin unit tests, without sockets: a real core with mod_roster and
// service_admin_extra, SQLite storage in a temporary directory, sessions that record what
// they are sent, and the admin app to call with app.request().

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../server/config/load.ts';
import { Core } from '../../../server/core/node.ts';
import type { OptionsSection } from '../../../server/core/registry.ts';
import type { Session } from '../../../server/core/sessions.ts';
import type { Packet } from '../../../server/core/packet.ts';
import { openStorage } from '../../../server/storage/open.ts';
import type { Storage } from '../../../server/storage/storage.ts';
import { deriveCredentials } from '../../../server/auth/credentials.ts';
import { parseJid } from '../../../server/jid.ts';
import { Logger } from '../../../server/log.ts';
import { Metrics } from '../../../server/metrics.ts';
import type { StreamError } from '../../../server/errors.ts';
import { MODULES, SERVICES } from '../../../modules/index.ts';
import { enabledAdminCommands } from '../../../modules/service_admin_extra.ts';
import { attachAdminNode, type AdminNode, type NodeState } from '../../../server/admin/node.ts';
import { CredentialCheck } from '../../../server/admin/auth.ts';
import { createAdminApp } from '../../../server/admin/rest.ts';
import { describeAdminMetrics, instrumentCore } from '../../../server/admin/instrument.ts';
import type { Hono } from 'hono';

export const TOKEN = 'test-token-0123456789abcdef';
export const BASIC = 'Basic ' + Buffer.from('root:s3cret').toString('base64');
export const BEARER = `Bearer ${TOKEN}`;

export class RecordingSession implements Session {
  priority = 0;
  available = false;
  interested = false;
  readonly transport: string;
  readonly sent: string[] = [];
  closedWith: StreamError | undefined;
  closed = false;
  constructor(readonly jid: ReturnType<typeof parseJid>, transport = 'tcp') {
    this.transport = transport;
  }
  send(packet: Packet): void {
    this.sent.push(packet.element().toString());
  }
  close(error?: StreamError): void {
    this.closed = true;
    this.closedWith = error;
  }
}

export interface AdminFixture {
  readonly core: Core;
  readonly storage: Storage;
  readonly node: AdminNode;
  readonly metrics: Metrics;
  readonly app: Hono;
  state: NodeState;
  stopRequests: string[];
  addUser(jid: string, password?: string): Promise<void>;
  bind(jid: string, transport?: string): RecordingSession;
  call(method: string, path: string, body?: unknown, auth?: string): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

export async function adminFixture(options: { toml?: string; services?: Record<string, unknown> } = {}): Promise<AdminFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'meerkat-admin-'));
  const config = parseConfig(`
[general]
hosts = ["localhost", "chat.example"]
data_dir = ${JSON.stringify(dataDir)}
[auth.password]
scram_iterations = 4096
[modules.mod_roster]
[modules.mod_offline]
${options.toml ?? ''}
`, 'admin-test.toml', {}, { baseDir: dataDir });
  const storage = await openStorage(config.storage);
  const logger = new Logger('none');
  const metrics = new Metrics();
  describeAdminMetrics(metrics);
  const core = new Core({ hosts: [...config.general.hosts], modules: MODULES, services: SERVICES, logger, storage });
  const perHost: Record<string, Record<string, OptionsSection>> = {};
  for (const h of core.hosts) perHost[h] = config.modules as Record<string, OptionsSection>;
  const services = (options.services ?? { service_admin_extra: {} }) as Record<string, unknown>;
  const serviceSections: Record<string, OptionsSection> = {};
  for (const [k, v] of Object.entries(services)) serviceSections[k] = { value: v };
  const stopRequests: string[] = [];
  const fixture: AdminFixture = {
    core,
    storage,
    metrics,
    state: 'ready',
    stopRequests,
    node: undefined as unknown as AdminNode,
    app: undefined as unknown as Hono,
    async addUser(jid, password = 'pw') {
      const j = parseJid(jid);
      await storage.users.create(j.domain, j.local, await deriveCredentials(password, { iterations: 4096 }));
    },
    bind(jid, transport = 'tcp') {
      const session = new RecordingSession(parseJid(jid), transport);
      core.sessions.open(session);
      return session;
    },
    async call(method, path, body, auth = BEARER) {
      const headers: Record<string, string> = {};
      if (auth) headers.Authorization = auth;
      let payload: string | undefined;
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = typeof body === 'string' ? body : JSON.stringify(body);
      }
      const res = await fixture.app.request(path, { method, headers, body: payload });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, json };
    },
    async close() {
      await core.registry.stop();
      await storage.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  const node: AdminNode = {
    config,
    core,
    storage: async () => storage,
    metrics,
    logger,
    catalogue: { modules: MODULES, services: SERVICES },
    state: () => fixture.state,
    components: () => [],
    requestStop: (reason) => { stopRequests.push(reason); },
  };
  (fixture as { node: AdminNode }).node = node;
  attachAdminNode(core.hooks, node);
  instrumentCore(metrics, core);
  await core.registry.start({ services: serviceSections, modules: perHost });
  (fixture as { app: Hono }).app = createAdminApp({
    node,
    commands: () => enabledAdminCommands(core.hooks),
    credentials: new CredentialCheck({ basic: { username: 'root', password: 's3cret' }, tokens: [TOKEN] }),
    options: { metrics: true, metricsAuth: false, dashboard: true, maxBodyBytes: 4096 },
    version: 'test',
  });
  return fixture;
}
