// Every admin command this build has. service_admin_extra decides which are enabled.

import type { AdminCommand } from '../command.ts';
import { ACCOUNT_COMMANDS } from './accounts.ts';
import { SESSION_COMMANDS } from './sessions.ts';
import { STANZA_COMMANDS } from './stanzas.ts';
import { OFFLINE_COMMANDS, ROSTER_COMMANDS } from './roster.ts';
import { SYSTEM_COMMANDS } from './system.ts';

export const ALL_COMMANDS: readonly AdminCommand[] = [
  ...ACCOUNT_COMMANDS,
  ...SESSION_COMMANDS,
  ...STANZA_COMMANDS,
  ...ROSTER_COMMANDS,
  ...OFFLINE_COMMANDS,
  ...SYSTEM_COMMANDS,
];

/** The command a front-end was asked for, by its name or an alias ("account register", "user add"). */
export function findCommand(commands: readonly AdminCommand[], words: readonly string[]): AdminCommand | undefined {
  const matches = (name: readonly string[]) => name.length <= words.length && name.every((w, i) => words[i] === w);
  return commands.find((c) => matches(c.name)) ?? commands.find((c) => (c.aliases ?? []).some(matches));
}
