// Sessions on this node: list, count, kick.

import { StreamError } from '../../errors.ts';
import { parseJid } from '../../jid.ts';
import type { Core } from '../../core/node.ts';
import type { Session } from '../../core/sessions.ts';
import { defineCommand, fail, type CommandResult } from '../command.ts';
import type { AdminNode } from '../node.ts';

const hostArg = { name: 'host', type: 'host', description: 'one served host (all when left out)', example: 'localhost', optional: true } as const;

export interface SessionRow {
  readonly jid: string;
  readonly transport: string;
  readonly available: boolean;
  readonly priority: number;
  /** When it was bound (ISO date), when the transport records it. */
  readonly since: string | undefined;
}

/** The transport a session came over ("tcp", "tcp_tls", "http"), or "other". */
export function transportOf(session: Session): string {
  const t = (session as { transport?: unknown }).transport;
  return typeof t === 'string' ? t : 'other';
}

function row(session: Session): SessionRow {
  const since = (session as { since?: unknown }).since;
  return {
    jid: session.jid.toString(),
    transport: transportOf(session),
    available: session.available,
    priority: session.priority,
    since: typeof since === 'number' ? new Date(since).toISOString() : undefined,
  };
}

export function notRunning(): CommandResult {
  return fail('unavailable', 'the server is not running');
}

function sessionsOf(core: Core, host: string | undefined): Session[] {
  const all = [...core.sessions.all()];
  return host === undefined ? all : all.filter((s) => s.jid.domain === host);
}

export const sessionList = defineCommand({
  name: ['session', 'list'],
  group: 'sessions',
  summary: 'list the bound sessions of one host, or of every host',
  args: [hostArg],
  returns: 'rows of { jid, transport, available, priority, since }',
  access: 'monitor',
  readOnly: true,
  xep0133: 'http://jabber.org/protocol/admin#get-online-users-list',
  async run(node: AdminNode, args) {
    if (!node.core) return notRunning();
    const rows = sessionsOf(node.core, args.host as string | undefined).map(row).sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
    return { ok: true, data: rows, lines: rows.map((r) => `${r.jid}\t${r.transport}\t${r.available ? 'available' : 'unavailable'}`) };
  },
});

export const sessionCount = defineCommand({
  name: ['session', 'count'],
  group: 'sessions',
  summary: 'count the bound sessions of one host, or of every host, by transport',
  args: [hostArg],
  returns: '{ count, byTransport: { transport: count } }',
  access: 'monitor',
  readOnly: true,
  xep0133: 'http://jabber.org/protocol/admin#get-online-users-num',
  async run(node, args) {
    if (!node.core) return notRunning();
    const byTransport: Record<string, number> = {};
    const sessions = sessionsOf(node.core, args.host as string | undefined);
    for (const s of sessions) byTransport[transportOf(s)] = (byTransport[transportOf(s)] ?? 0) + 1;
    return { ok: true, data: { count: sessions.length, byTransport }, lines: [String(sessions.length)] };
  },
});

export const sessionKick = defineCommand({
  name: ['session', 'kick'],
  group: 'sessions',
  summary: 'end one session (full JID) or every session of an account (bare JID)',
  args: [
    { name: 'jid', type: 'jid', description: 'user@host/resource, or user@host for all its sessions', example: 'alice@localhost/laptop', formVar: 'accountjid' },
    { name: 'reason', type: 'string', description: 'text sent with the stream error', example: 'maintenance', optional: true },
  ],
  returns: '{ kicked: number of sessions ended }',
  access: 'admin',
  xep0133: 'http://jabber.org/protocol/admin#end-user-session',
  async run(node, args) {
    if (!node.core) return notRunning();
    const jid = parseJid(args.jid as string);
    const targets = jid.resource === ''
      ? [...node.core.sessions.resources(jid)]
      : [node.core.sessions.get(jid)].filter((s): s is Session => s !== undefined);
    if (targets.length === 0) return fail('not_found', `no session for ${jid}`);
    const text = (args.reason as string | undefined) ?? 'ended by an administrator';
    for (const session of targets) {
      // The stream unbinds itself when it closes; remove it now too, so the listing is current.
      session.close(new StreamError('policy-violation', { text }));
      node.core.sessions.remove(session, 'kicked');
    }
    node.logger.info('admin_sessions_kicked', { jid: jid.toString(), count: targets.length });
    return { ok: true, message: `ended ${targets.length} session${targets.length === 1 ? '' : 's'} of ${jid}`, data: { kicked: targets.length } };
  },
});

export const SESSION_COMMANDS = [sessionList, sessionCount, sessionKick];
