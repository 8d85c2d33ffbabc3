// Runs one command for a front-end: validate the arguments, run, and turn a thrown error
// into a failure (logged without the arguments, which may hold a password).

import { validateArgs, type ArgProblem } from './args.ts';
import { commandPath, type AdminCommand, type CommandResult } from './command.ts';
import type { AdminNode } from './node.ts';

export type RunOutcome = CommandResult | { ok: false; kind: 'invalid_arguments'; message: string; problems: ArgProblem[] };

export async function runCommand(node: AdminNode, command: AdminCommand, input: Readonly<Record<string, unknown>>, via: string): Promise<RunOutcome> {
  const checked = validateArgs(command, input, node.config.general.hosts);
  if (!checked.ok) {
    const message = checked.problems.map((p) => `${p.arg}: ${p.message}`).join('; ');
    return { ok: false, kind: 'invalid_arguments', message, problems: checked.problems };
  }
  let result: CommandResult;
  try {
    result = await command.run(node, checked.args);
  } catch (err) {
    node.logger.error('admin_command_failed', { command: commandPath(command), via, error: err });
    return { ok: false, kind: 'unavailable', message: `${commandPath(command)} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  node.logger.info('admin_command', { command: commandPath(command), via, ok: result.ok });
  return result;
}
