// A core with mod_roster (and whatever else a test adds) on an in-memory SQLite store, fake
// client sessions, and a capturing route for a remote domain, so tests read like the protocol:
// "alice sends …, bob receives …, remote.example gets …".

import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import type { Storage, StoredCredentials } from '../../../server/storage/storage.ts';
import type { ModuleDefinition, OptionsSection } from '../../../server/core/registry.ts';
import type { Core } from '../../../server/core/node.ts';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid } from '../../../server/jid.ts';
import { modRoster, rosterIdle } from '../../../modules/mod_roster/index.ts';
import { FakeSession, parseXml, testCore } from '../core/fakes.ts';

export const HOST = 'example.com';
export const REMOTE = 'remote.example';

export interface Fixture {
  core: Core;
  storage: Storage;
  /** Packets routed to remote.example. */
  remote: Packet[];
  /** Binds a session (available unless told otherwise; fetched the roster unless told otherwise). */
  connect(jid: string, options?: { available?: boolean; interested?: boolean; priority?: number }): FakeSession;
  /** What the c2s stream does with a stanza from a client. */
  send(session: FakeSession, xmlText: string): void;
  /** A stanza arriving from elsewhere (another server, a component). */
  inject(xmlText: string): void;
  /** Waits until every queued roster/presence/offline task has finished. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function rosterFixture(options: {
  users?: string[];
  modules?: Record<string, Record<string, unknown>>;
  definitions?: ModuleDefinition<unknown>[];
  idle?: Array<(core: Core) => Promise<void>>;
} = {}): Promise<Fixture> {
  const storage = createSqliteStorage(openBunSqlite(':memory:'), { synchronous: 'normal', busyTimeout: 0 });
  for (const user of options.users ?? ['alice', 'bob', 'carol']) {
    await storage.users.create(HOST, user, {} as StoredCredentials);
  }
  const { core } = testCore({
    storage,
    userExists: (bare) => storage.users.existsSync!(bare.domain, bare.local),
    modules: [modRoster as ModuleDefinition<unknown>, ...(options.definitions ?? [])],
  });
  const remote: Packet[] = [];
  core.router.addDomainRoute(REMOTE, { route: (p) => remote.push(p.detach()) });
  const modules: Record<string, OptionsSection> = {};
  for (const [name, value] of Object.entries(options.modules ?? { mod_roster: {} })) modules[name] = { value };
  await core.registry.start({ modules: { [HOST]: modules } });

  const settle = async (): Promise<void> => {
    for (let i = 0; i < 4; i++) {
      await rosterIdle(core.hooks, HOST);
      for (const wait of options.idle ?? []) await wait(core);
      await new Promise((r) => setTimeout(r, 0));
    }
  };

  const fixture: Fixture = {
    core,
    storage,
    remote,
    connect(jid, o = {}) {
      const session = new FakeSession(jid, { available: false, priority: o.priority ?? 0 });
      session.interested = o.interested ?? true;
      core.sessions.open(session);
      if (o.available ?? true) fixture.send(session, o.priority === undefined ? '<presence/>' : `<presence><priority>${o.priority}</priority></presence>`);
      return session;
    },
    send(session, xmlText) {
      const el = parseXml(xmlText);
      const toAttr = el.attrs.to;
      const to = toAttr === undefined ? session.jid.bare() : parseJid(toAttr);
      const packet = Packet.fromElement(el, session.jid, to);
      if (el.localName === 'presence' && toAttr === undefined) {
        if (packet.type === undefined) {
          const p = Number.parseInt(el.getChildText('priority') ?? '0', 10);
          core.sessions.setAvailable(session, Number.isFinite(p) ? p : 0, packet);
        } else if (packet.type === 'unavailable') {
          core.sessions.setUnavailable(session, el.getChildText('status') ?? '');
        }
        core.hooks.run('user_send_packet', HOST, { session, packet });
        return;
      }
      core.router.routeFromSession(session, packet);
    },
    inject(xmlText) {
      core.router.route(Packet.fromElement(parseXml(xmlText)));
    },
    settle,
    async close() {
      await settle();
      await core.registry.stop();
      await storage.close();
    },
  };
  return fixture;
}

/** The stanzas a session got, as elements, optionally only of one kind. */
export function received(session: FakeSession, kind?: 'iq' | 'message' | 'presence') {
  return session.sent.filter((p) => kind === undefined || p.kind === kind).map((p) => ({ packet: p, el: p.element(), from: p.from.toString(), to: p.to.toString(), type: p.type }));
}

/** Roster pushes a session got: the <item/> of each. */
export function pushes(session: FakeSession) {
  return session.sent
    .filter((p) => p.kind === 'iq' && p.type === 'set')
    .map((p) => p.element().getChild('query', 'jabber:iq:roster')!.getChild('item')!);
}
