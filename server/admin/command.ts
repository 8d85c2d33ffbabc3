// An admin command is one definition: its name, group, typed arguments (with examples),
// what it returns and who may run it. The REST admin API, meerkatctl and XEP-0133 ad-hoc
// commands are thin front-ends that read these definitions; none of them has commands of
// its own.

import type { AdminNode } from './node.ts';

/** Argument types. Every front-end validates with validateArgs() before run() is called. */
export type ArgType =
  | 'account'   // a bare JID of an account on a served host
  | 'jid'       // any valid JID (a contact, a full JID to kick)
  | 'host'      // a served host
  | 'string'
  | 'secret'    // a password: never logged, read from stdin by meerkatctl when left out
  | 'int'
  | 'strings'   // a list of strings (JSON array; comma-separated on the command line)
  | 'enum'
  | 'xml';      // one stanza, checked by the tokenizer

export interface ArgSpec {
  readonly name: string;
  readonly type: ArgType;
  readonly description: string;
  /** Shown in usage, the OpenAPI description and ad-hoc forms. */
  readonly example: string | number | readonly string[];
  readonly optional?: boolean;
  /** Allowed values of an 'enum' argument. */
  readonly values?: readonly string[];
  /** The XEP-0133 form field name when it differs (accountjid, ...). */
  readonly formVar?: string;
}

/**
 * Who may run a command: 'admin' (the [acl] admin list; every REST credential) or
 * 'monitor' (read-only: also the [acl] monitor list, when configured).
 */
export type CommandAccess = 'admin' | 'monitor';

/** Why a command did not do what was asked; front-ends map it (HTTP status, exit code, ad-hoc note). */
export type FailureKind = 'invalid' | 'not_found' | 'conflict' | 'unavailable';

export type CommandResult =
  | { readonly ok: true; readonly message?: string; readonly data?: unknown; readonly lines?: readonly string[] }
  | { readonly ok: false; readonly kind: FailureKind; readonly message: string };

export type ArgValue = string | number | readonly string[];
export type CommandArgs = Readonly<Record<string, ArgValue | undefined>>;

export interface AdminCommand {
  /** Group then action: ['account', 'register']. The REST path is /api/admin/<group>/<action>. */
  readonly name: readonly [string, string];
  /** The service_admin_extra option group that enables it. */
  readonly group: CommandGroup;
  readonly summary: string;
  readonly args: readonly ArgSpec[];
  /** What data a success carries, in words (documentation and OpenAPI). */
  readonly returns: string;
  readonly access: CommandAccess;
  /** Changes nothing: REST also answers it on GET. */
  readonly readOnly?: boolean;
  /** The XEP-0133 node, when the XEP defines this command. */
  readonly xep0133?: string;
  /** Other names meerkatctl accepts (['user', 'add']). */
  readonly aliases?: ReadonlyArray<readonly string[]>;
  /** Works on storage alone, so meerkatctl may run it directly while the server is stopped. */
  readonly offline?: boolean;
  run(node: AdminNode, args: CommandArgs): Promise<CommandResult>;
}

export const COMMAND_GROUPS = [
  'accounts', 'sessions', 'stanzas', 'roster', 'offline', 'stats', 'logging', 'components', 'modules', 'config', 'node',
] as const;
export type CommandGroup = (typeof COMMAND_GROUPS)[number];

export const commandPath = (c: AdminCommand): string => c.name.join(' ');

export function fail(kind: FailureKind, message: string): CommandResult {
  return { ok: false, kind, message };
}

export function defineCommand(def: AdminCommand): AdminCommand {
  return def;
}
