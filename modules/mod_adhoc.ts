// XEP-0050 ad-hoc commands on the server JID, offering the admin commands of
// service_admin_extra (XEP-0133 nodes where the XEP defines one, meerkat:admin#<group>-<action>
// otherwise) to the JIDs in the [acl] admin list; commands marked 'monitor' also to the
// [acl] monitor list when it exists. Everyone else sees no command and gets forbidden.
//
// Each command is one form: execute → a form with the command's arguments (status
// "executing"); submit it → run → "completed" with a note and a result form. Cancel ends it.
// A form submitted with the first execute runs at once. Open sessions are bounded and expire.

import { randomBytes } from 'node:crypto';
import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { createAccessControl } from '../server/config/access.ts';
import { StanzaError } from '../server/errors.ts';
import type { Jid } from '../server/jid.ts';
import { NS_COMMANDS, NS_DATA_FORMS } from '../server/ns.ts';
import { Element } from '../server/xml/element.ts';
import type { AdminCommand, ArgSpec } from '../server/admin/command.ts';
import { adminNodeOf, type AdminNode } from '../server/admin/node.ts';
import { runCommand } from '../server/admin/run.ts';
import type { AdminExtraApi } from './service_admin_extra.ts';

const NS_ADMIN = 'http://jabber.org/protocol/admin';

const schema = s.object({
  /** The ACL whose members may run every command. */
  admin_acl: s.string().default('admin'),
  /** The ACL whose members may run read-only ('monitor') commands; ignored when not defined. */
  monitor_acl: s.string().default('monitor'),
  /** Open command sessions at most (rule 10); the oldest is dropped beyond it. */
  max_sessions: s.int({ min: 1 }).default(1000),
  session_timeout: s.duration().default('10m'),
});

type Options = Infer<typeof schema>;

export const nodeOf = (c: AdminCommand): string => c.xep0133 ?? `meerkat:admin#${c.name[0]}-${c.name[1]}`;

interface CommandSession {
  readonly node: string;
  readonly owner: string;
  readonly expires: number;
}

export const modAdhoc = defineModule<Options>({
  name: 'mod_adhoc',
  xeps: ['XEP-0050', 'XEP-0133'],
  requiresServices: ['service_admin_extra'],
  defaults: schema.parse({}, ['modules', 'mod_adhoc']),
  schema,
  start(host, opts, ctx) {
    const extra = ctx.service<AdminExtraApi>('service_admin_extra');
    const sessions = new Map<string, CommandSession>();
    const node = (): AdminNode | undefined => adminNodeOf(ctx.hooks);
    let access: ReturnType<typeof createAccessControl> | undefined;

    const mayRun = (who: Jid, command: AdminCommand): boolean => {
      const n = node();
      if (!n) return false;
      access ??= createAccessControl(n.config);
      const subject = { user: who.local, server: who.domain, resource: who.resource };
      const inAcl = (acl: string) => {
        if (!(acl in n.config.acl)) return false;
        return access!.inAcl(acl, subject, host);
      };
      return inAcl(opts.admin_acl) || (command.access === 'monitor' && inAcl(opts.monitor_acl));
    };

    ctx.addFeature(NS_COMMANDS);
    ctx.addHook('disco_local_items', (args) => {
      if (args.node !== NS_COMMANDS || args.host !== host) return;
      for (const c of extra.commands) {
        if (mayRun(args.from, c)) args.items.push({ jid: host, node: nodeOf(c), name: c.summary });
      }
    });

    ctx.addIqHandler('local', NS_COMMANDS, 'command', async (req) => {
      if (req.type !== 'set') return new StanzaError('bad-request', { text: 'ad-hoc commands are run with an IQ set' });
      const cmdEl = req.payload;
      const nodeName = cmdEl.attrs.node;
      const command = extra.commands.find((c) => nodeOf(c) === nodeName);
      if (!command) return new StanzaError('item-not-found', { text: 'no such command' });
      if (!mayRun(req.from, command)) return new StanzaError('forbidden', { text: 'admin commands are for administrators' });
      const admin = node();
      if (!admin) return new StanzaError('service-unavailable');

      const now = Date.now();
      for (const [id, sess] of sessions) if (sess.expires <= now) sessions.delete(id);
      const action = cmdEl.attrs.action ?? 'execute';
      const sessionId = cmdEl.attrs.sessionid;
      const owner = req.from.toString();
      if (sessionId !== undefined) {
        const sess = sessions.get(sessionId);
        if (!sess || sess.owner !== owner || sess.node !== nodeName) {
          return new StanzaError('bad-request', { text: 'unknown or expired session', appCondition: new Element('bad-sessionid', { xmlns: NS_COMMANDS }) });
        }
        if (action === 'cancel') {
          sessions.delete(sessionId);
          return reply(command, sessionId, 'canceled');
        }
      } else if (action === 'cancel') {
        return reply(command, randomBytes(8).toString('hex'), 'canceled');
      }
      if (!['execute', 'complete', 'next'].includes(action)) {
        return new StanzaError('bad-request', { appCondition: new Element('bad-action', { xmlns: NS_COMMANDS }) });
      }

      const submitted = cmdEl.getChild('x', NS_DATA_FORMS);
      if (submitted === undefined || submitted.attrs.type !== 'submit') {
        // Commands whose arguments are all optional run at once (XEP-0133 counts take none).
        if (command.args.some((a) => !a.optional)) {
          const id = sessionId ?? randomBytes(8).toString('hex');
          while (sessions.size >= opts.max_sessions) sessions.delete(sessions.keys().next().value!);
          sessions.set(id, { node: nodeName!, owner, expires: now + opts.session_timeout });
          const out = reply(command, id, 'executing');
          out.c('actions', { execute: 'complete' }).c('complete');
          out.append(argumentsForm(command, admin));
          return out;
        }
      }
      if (sessionId !== undefined) sessions.delete(sessionId);
      const input = submitted === undefined ? {} : formValues(command, submitted);
      if (typeof input === 'string') return completed(command, sessionId, 'error', input);
      const outcome = await runCommand(admin, command, input, 'adhoc');
      if (!outcome.ok) return completed(command, sessionId, 'error', outcome.message);
      const done = completed(command, sessionId, 'info', outcome.message ?? 'done');
      const result = resultForm(command, outcome.lines, outcome.data);
      if (result) done.append(result);
      return done;
    });
  },
});

function reply(command: AdminCommand, sessionId: string, status: 'executing' | 'completed' | 'canceled'): Element {
  return new Element('command', { xmlns: NS_COMMANDS, node: nodeOf(command), sessionid: sessionId, status });
}

function completed(command: AdminCommand, sessionId: string | undefined, type: 'info' | 'error', text: string): Element {
  const el = reply(command, sessionId ?? randomBytes(8).toString('hex'), 'completed');
  el.c('note', { type }).t(text);
  return el;
}

function fieldVar(arg: ArgSpec): string {
  return arg.formVar ?? arg.name;
}

function argumentsForm(command: AdminCommand, node: AdminNode): Element {
  const x = new Element('x', { xmlns: NS_DATA_FORMS, type: 'form' });
  x.c('title').t(command.summary);
  if (command.xep0133) x.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(NS_ADMIN);
  for (const arg of command.args) {
    const field = x.c('field', { var: fieldVar(arg), label: arg.description, type: fieldType(arg) });
    if (!arg.optional) field.c('required');
    const options = arg.type === 'enum' ? arg.values ?? [] : arg.type === 'host' ? node.config.general.hosts : [];
    for (const o of options) field.c('option', { label: o }).c('value').t(o);
    if (arg.type === 'secret' && command.xep0133) {
      const verify = x.c('field', { var: 'password-verify', label: 'the password again', type: 'text-private' });
      verify.c('required');
    }
  }
  return x;
}

function fieldType(arg: ArgSpec): string {
  switch (arg.type) {
    case 'secret': return 'text-private';
    case 'enum': case 'host': return 'list-single';
    case 'account': case 'jid': return 'jid-single';
    case 'strings': case 'xml': return 'text-multi';
    default: return 'text-single';
  }
}

/** The submitted values by argument name, or why the form is refused. */
function formValues(command: AdminCommand, form: Element): Record<string, unknown> | string {
  const values = new Map<string, string[]>();
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var;
    if (name === undefined) continue;
    values.set(name, field.getChildren('value').map((v) => v.text));
  }
  const input: Record<string, unknown> = {};
  for (const arg of command.args) {
    const given = values.get(fieldVar(arg));
    if (given === undefined || given.length === 0) continue;
    if (arg.type === 'strings') input[arg.name] = given.filter((v) => v !== '');
    else if (arg.type === 'xml') input[arg.name] = given.join('\n');
    else input[arg.name] = given[0];
    if (arg.type === 'secret' && values.has('password-verify') && values.get('password-verify')![0] !== given[0]) {
      return 'the passwords do not match';
    }
  }
  return input;
}

function resultForm(command: AdminCommand, lines: readonly string[] | undefined, data: unknown): Element | undefined {
  if (lines === undefined && data === undefined) return undefined;
  const x = new Element('x', { xmlns: NS_DATA_FORMS, type: 'result' });
  if (command.xep0133) x.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(NS_ADMIN);
  const field = x.c('field', { var: 'result', type: 'text-multi', label: command.returns });
  for (const line of lines ?? JSON.stringify(data, null, 1).split('\n')) field.c('value').t(line);
  return x;
}
