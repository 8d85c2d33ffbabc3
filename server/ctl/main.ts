// meerkatctl: the command-line front-end of the admin commands (server/admin/commands/).
//
//   meerkatctl [--config FILE] [--json] start | stop | status | check
//   meerkatctl [--config FILE] [--json] <group> <action> [arguments...]   e.g. account register alice@localhost
//   meerkatctl help
//
// Registry commands go to the running node's REST admin API ([listen.admin]) with the
// credentials of the same configuration (a bearer token from `tokens`, the local token file
// <data_dir>/admin-token, or Basic username/password). Commands that work on storage alone
// (accounts, rosters, offline count) run directly on the storage when the node does not
// answer or has no admin listener — e.g. `user add` before the first start.
//
// The configuration is FILE, else $MEERKAT_CONFIG, else ./meerkat.toml when present, else
// the embedded defaults; MEERKAT_<SECTION>__<KEY> overrides apply as for the server.
// A password not given as an argument is read from stdin (first line) or prompted for.
// Exit status: 0 done, 1 the command failed (exists, no such user, not running),
// 2 usage error, 3 configuration or storage error.

import { existsSync } from 'node:fs';
import { ConfigError } from '../config/error.ts';
import { loadConfig } from '../config/load.ts';
import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { StorageError, type Storage } from '../storage/storage.ts';
import { openStorage } from '../storage/open.ts';
import { validateArgs } from '../admin/args.ts';
import type { AdminCommand, ArgValue } from '../admin/command.ts';
import { ALL_COMMANDS, findCommand } from '../admin/commands/index.ts';
import type { AdminNode } from '../admin/node.ts';
import { checkConfig, reportLines } from '../admin/config-check.ts';
import { logger } from '../log.ts';
import { MODULES, SERVICES } from '../../modules/index.ts';
import { AdminApiClient, Unreachable } from './api-client.ts';
import { readPassword } from './password-input.ts';
import { nodeStart, nodeStatus, nodeStop } from './lifecycle.ts';
import { EXIT, type Output } from './output.ts';

export { EXIT };

class UsageError extends Error {}

interface Options {
  configPath: string | undefined;
  json: boolean;
  words: string[];
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: Options;
  try {
    options = splitOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  const { words } = options;
  if (words.length === 0 || words[0] === 'help' || words[0] === '--help' || words[0] === '-h') {
    process.stdout.write(helpText());
    return words.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const out = output(options.json);
  const lifecycle = ['start', 'stop', 'status', 'check'].includes(words[0]!) && words.length === 1;
  const command = lifecycle ? undefined : findCommand(ALL_COMMANDS, words);
  if (!lifecycle && !command) return usage(`unknown command: ${words.join(' ')}`);

  let positional: Record<string, string | undefined> = {};
  if (command) {
    const typed = matchedName(command, words);
    try {
      positional = bindArgs(command, typed, words.slice(typed.length));
    } catch (err) {
      if (err instanceof UsageError) return usage(err.message);
      throw err;
    }
  }

  let config: MeerkatConfig;
  const configPath = options.configPath ?? env.MEERKAT_CONFIG ?? defaultConfigFile();
  try {
    config = await loadConfig(configPath, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      if (words[0] === 'check' && lifecycle) return out.failure({ ok: false, problems: [err.message] }, [err.message], EXIT.config);
      process.stderr.write(`meerkatctl: ${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  }

  const client = await AdminApiClient.fromConfig(config);
  if (lifecycle) {
    switch (words[0]) {
      case 'start': return nodeStart(config, configPath, client, out);
      case 'stop': return nodeStop(config, client, out);
      case 'status': return nodeStatus(config, client, out);
      default: {
        const check = checkConfig(config, { modules: MODULES, services: SERVICES });
        return check.ok ? out.success(check, reportLines(check)) : out.failure(check, reportLines(check), EXIT.config);
      }
    }
  }
  return runRegistryCommand(command!, positional, config, client, out);
}

async function runRegistryCommand(
  command: AdminCommand,
  positional: Record<string, string | undefined>,
  config: MeerkatConfig,
  client: AdminApiClient | undefined,
  out: Output,
): Promise<number> {
  const input: Record<string, ArgValue> = {};
  for (const spec of command.args) {
    let value = positional[spec.name];
    if (spec.type === 'secret' && value === undefined) value = await readPassword(`Password for ${positional.jid ?? ''}: `);
    if (value === undefined) continue;
    input[spec.name] = spec.type === 'strings' ? value.split(',').map((v) => v.trim()).filter((v) => v !== '') : value;
  }
  // Checked here too, so mistakes are reported the same way with or without a running node.
  const checked = validateArgs(command, input, config.general.hosts);
  if (!checked.ok) return out.failure({ ok: false, error: { code: 'invalid_arguments', problems: checked.problems } }, checked.problems.map((p) => p.message), EXIT.failed);

  if (client) {
    try {
      const reply = await client.request('POST', `/api/admin/${command.name[0]}/${command.name[1]}`, input);
      return printReply(reply.status, reply.body, command, out);
    } catch (err) {
      if (!(err instanceof Unreachable)) throw err;
      if (!command.offline) return out.failure({ ok: false, error: { code: 'unreachable', message: err.message } }, [`${err.message}: is the server running?`], EXIT.failed);
      process.stderr.write(`meerkatctl: ${err.message}; working on the storage directly\n`);
    }
  } else if (!command.offline) {
    const message = `${command.name.join(' ')} needs the running node, and the configuration has no [listen.admin] to reach it`;
    return out.failure({ ok: false, error: { code: 'unreachable', message } }, [message], EXIT.failed);
  }
  return runOnStorage(command, checked.args, config, out);
}

function printReply(status: number, body: unknown, command: AdminCommand, out: Output): number {
  const reply = body as { ok?: boolean; message?: string; data?: unknown; lines?: string[]; error?: { code: string; message: string; problems?: { message: string }[] } };
  if (status === 200 && reply.ok) {
    const { lines, ...value } = reply;
    return out.success(value, [...(lines ?? []), ...(reply.message ? [reply.message] : [])]);
  }
  if (status === 401) return out.failure(reply, ['the admin API refused the credentials (see [listen.admin] and <data_dir>/admin-token)'], EXIT.failed);
  if (status === 404 && reply.error?.code === 'not_found' && reply.error.message === 'no such route') {
    return out.failure(reply, [`${command.name.join(' ')} is not enabled on the running node (service_admin_extra groups)`], EXIT.failed);
  }
  const lines = reply.error?.problems?.map((p) => p.message) ?? [reply.error?.message ?? `HTTP ${status}`];
  return out.failure(reply, lines, EXIT.failed);
}

async function runOnStorage(command: AdminCommand, args: Readonly<Record<string, ArgValue | undefined>>, config: MeerkatConfig, out: Output): Promise<number> {
  let storage: Storage | undefined;
  const node: AdminNode = {
    config,
    core: undefined,
    metrics: undefined,
    logger,
    catalogue: { modules: MODULES, services: SERVICES },
    async storage() {
      storage ??= await openStorage(config.storage);
      return storage;
    },
    state: () => 'ready',
    components: () => [],
    requestStop: () => {},
  };
  logger.setLevel('none');
  try {
    const result = await command.run(node, args);
    if (!result.ok) return out.failure({ ok: false, error: { code: result.kind, message: result.message } }, [result.message], EXIT.failed);
    return out.success({ ok: true, message: result.message, data: result.data }, [...(result.lines ?? []), ...(result.message ? [result.message] : [])]);
  } catch (err) {
    if (err instanceof StorageError) {
      process.stderr.write(`meerkatctl: ${err.message}\n`);
      return EXIT.config;
    }
    throw err;
  } finally {
    await storage?.close();
  }
}

function output(json: boolean): Output {
  return {
    success(value, lines) {
      if (json) process.stdout.write(JSON.stringify(value) + '\n');
      else for (const line of lines) process.stdout.write(line + '\n');
      return EXIT.ok;
    },
    failure(value, lines, code) {
      if (json) process.stdout.write(JSON.stringify(value) + '\n');
      else for (const line of lines) process.stderr.write(line + '\n');
      return code;
    },
  };
}

function splitOptions(argv: readonly string[]): Options {
  let configPath: string | undefined;
  let json = false;
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config' || arg === '-c') {
      configPath = argv[++i];
      if (configPath === undefined) throw new UsageError(`${arg} needs a file name`);
    } else if (arg.startsWith('--config=')) {
      configPath = arg.slice('--config='.length);
    } else if (arg === '--json') {
      json = true;
    } else words.push(arg);
  }
  return { configPath, json, words };
}

/** The words the user typed for the command: its name or one of its aliases. */
function matchedName(command: AdminCommand, words: readonly string[]): readonly string[] {
  const all = [command.name, ...(command.aliases ?? [])];
  return all.find((n) => n.every((w, i) => words[i] === w)) ?? command.name;
}

function bindArgs(command: AdminCommand, typed: readonly string[], positional: readonly string[]): Record<string, string | undefined> {
  const name = typed.join(' ');
  if (positional.length > command.args.length) throw new UsageError(`too many arguments for ${name}`);
  const args: Record<string, string | undefined> = {};
  command.args.forEach((spec, i) => {
    const value = positional[i];
    // Secrets may come from stdin instead; everything else not optional must be given.
    if (value === undefined && !spec.optional && spec.type !== 'secret') throw new UsageError(`missing <${spec.name}> for ${name}`);
    args[spec.name] = value;
  });
  return args;
}

function defaultConfigFile(): string | undefined {
  return existsSync('meerkat.toml') ? 'meerkat.toml' : undefined;
}

function usage(message: string): number {
  process.stderr.write(`meerkatctl: ${message}\n\n${helpText()}`);
  return EXIT.usage;
}

function synopsis(words: readonly string[], command: AdminCommand): string {
  const args = command.args.map((a) => (a.optional || a.type === 'secret' ? `[${a.name}]` : `<${a.name}>`)).join(' ');
  return [...words, args].filter(Boolean).join(' ');
}

function helpText(): string {
  const lines = ALL_COMMANDS.map((c) => `  ${synopsis(c.name, c).padEnd(44)} ${c.summary}`);
  const aliases = ALL_COMMANDS.flatMap((c) => (c.aliases ?? []).map((a) => `  ${synopsis(a, c).padEnd(44)} = ${c.name.join(' ')}`));
  return [
    'usage: meerkatctl [--config FILE] [--json] <command>',
    '',
    '  start                                        start the server in the background; waits until it is ready',
    '  stop                                         stop the running server gracefully',
    '  status                                       exit status 0 when the server is running and ready, 1 otherwise',
    '  check                                        check the configuration and report what it would run',
    '',
    ...lines,
    '',
    'Shorter names:',
    ...aliases,
    '',
    'Lists are comma-separated (groups: Friends,Work). A password left out is read from stdin (first line) or prompted for.',
    '',
  ].join('\n');
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2));
  // Exit explicitly: an unanswered status probe must not keep the process alive.
  process.exit(code);
}
