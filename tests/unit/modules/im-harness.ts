// A core with some of the small IM modules on an in-memory SQLite store and fake client
// sessions, so module tests read like the protocol: "alice sends …, bob receives …".

import { openBunSqlite } from '../../../server/storage/sqlite/driver-bun.ts';
import { createSqliteStorage } from '../../../server/storage/sqlite/storage.ts';
import type { Storage, StoredCredentials } from '../../../server/storage/storage.ts';
import type { ModuleDefinition, OptionsSection } from '../../../server/core/registry.ts';
import type { Core } from '../../../server/core/node.ts';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid } from '../../../server/jid.ts';
import type { Element } from '../../../server/xml/element.ts';
import { FakeSession, parseXml, testCore } from '../core/fakes.ts';

export const HOST = 'example.com';

export interface ImHarness {
  core: Core;
  storage: Storage;
  logs: Array<Record<string, unknown>>;
  /** Binds a session; available (initial presence sent) unless told otherwise. */
  connect(jid: string, options?: { available?: boolean; priority?: number }): FakeSession;
  /** What the c2s stream does with a stanza from a bound client. */
  send(session: FakeSession, xmlText: string): void;
  /** Sends an IQ and waits for the answer with the same id. */
  iq(session: FakeSession, xmlText: string): Promise<Element>;
  /** A stanza from elsewhere (another user's server, a component), routed as is. */
  inject(xmlText: string): void;
  /** Lets storage calls and async handlers finish. */
  settle(): Promise<void>;
  /** Elements a session received, parsed. */
  received(session: FakeSession): Element[];
}

export async function imHarness(
  definitions: ModuleDefinition<unknown>[],
  options: { users?: string[]; modules?: Record<string, Record<string, unknown>> } = {},
): Promise<ImHarness> {
  const storage = createSqliteStorage(openBunSqlite(':memory:'), { synchronous: 'normal', busyTimeout: 0 });
  for (const user of options.users ?? ['alice', 'bob', 'carol']) await storage.users.create(HOST, user, {} as StoredCredentials);
  const { core, logs } = testCore({
    storage,
    userExists: (bare) => storage.users.existsSync!(bare.domain, bare.local),
    modules: definitions,
  });
  const configured: Record<string, OptionsSection> = {};
  for (const def of definitions) configured[def.name] = { value: options.modules?.[def.name] ?? {} };
  await core.registry.start({ modules: { [HOST]: configured } });

  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 1));
  };

  const send = (session: FakeSession, xmlText: string): void => {
    const el = parseXml(xmlText);
    const toAttr = el.attrs.to;
    const to = toAttr === undefined ? session.jid.bare() : parseJid(toAttr);
    const packet = Packet.fromElement(el, session.jid, to);
    if (el.localName === 'presence' && toAttr === undefined) {
      // The c2s wiring's handling of the session's own presence (RFC 6121 §4.2).
      if (packet.type === undefined) core.sessions.setAvailable(session, Number.parseInt(el.getChildText('priority') ?? '0', 10), packet);
      else if (packet.type === 'unavailable') core.sessions.setUnavailable(session, el.getChildText('status') ?? '');
      core.hooks.run('user_send_packet', HOST, { session, packet });
      return;
    }
    core.router.routeFromSession(session, packet);
  };

  const received = (session: FakeSession): Element[] => session.wire.map((w) => parseXml(w));

  return {
    core,
    storage,
    logs,
    connect(jid, o = {}) {
      const session = new FakeSession(jid, { available: false, priority: o.priority ?? 0 });
      core.sessions.open(session);
      if (o.available ?? true) send(session, o.priority === undefined ? '<presence/>' : `<presence><priority>${o.priority}</priority></presence>`);
      return session;
    },
    send,
    async iq(session, xmlText) {
      const id = parseXml(xmlText).attrs.id;
      send(session, xmlText);
      for (let i = 0; i < 50; i++) {
        const answer = received(session).find((el) => el.localName === 'iq' && el.attrs.id === id && (el.attrs.type === 'result' || el.attrs.type === 'error'));
        if (answer) return answer;
        await new Promise((r) => setTimeout(r, 1));
      }
      throw new Error(`no answer to IQ ${id}`);
    },
    inject(xmlText) {
      core.router.route(Packet.fromElement(parseXml(xmlText)));
    },
    settle,
    received,
  };
}

/** The stanza error condition of an error stanza, or undefined. */
export function errorCondition(el: Element): string | undefined {
  const error = el.getChild('error');
  return error?.elements.find((c) => c.ns === 'urn:ietf:params:xml:ns:xmpp-stanzas' && c.localName !== 'text')?.localName;
}
