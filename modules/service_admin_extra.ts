// service_admin_extra: provides the admin commands (server/admin/commands/) to their
// front-ends — the REST admin API, meerkatctl through it, and XEP-0133 ad-hoc commands
// (mod_adhoc). Its `groups` option picks the command groups; without the service no front-end
// offers any command.
//
//   [services.service_admin_extra]
//   groups = ["accounts", "sessions", "stats"]   # default: every group

import { defineService } from '../server/core/registry.ts';
import type { Hooks } from '../server/core/hooks.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { COMMAND_GROUPS, type AdminCommand } from '../server/admin/command.ts';
import { ALL_COMMANDS } from '../server/admin/commands/index.ts';

const schema = s.object({
  groups: s.array(s.enumOf(COMMAND_GROUPS), { unique: true }).default([...COMMAND_GROUPS]),
});

type Options = Infer<typeof schema>;

export interface AdminExtraApi {
  /** The enabled commands, in catalogue order. */
  readonly commands: readonly AdminCommand[];
}

// The started service per core (keyed by its Hooks), for front-ends that are not modules.
const started = new WeakMap<Hooks, AdminExtraApi>();

export const serviceAdminExtra = defineService<Options, AdminExtraApi>({
  name: 'service_admin_extra',
  schema,
  start(opts, ctx) {
    const groups = new Set(opts.groups);
    const api: AdminExtraApi = { commands: ALL_COMMANDS.filter((c) => groups.has(c.group)) };
    started.set(ctx.hooks, api);
    ctx.onStop(() => {
      if (started.get(ctx.hooks) === api) started.delete(ctx.hooks);
    });
    ctx.logger.info('admin_commands_enabled', { groups: opts.groups, commands: api.commands.length });
    return api;
  },
});

/** The enabled admin commands of the node that owns `hooks`; none when the service is not running. */
export function enabledAdminCommands(hooks: Hooks): readonly AdminCommand[] {
  return started.get(hooks)?.commands ?? [];
}
