// Checks and normalizes a command's arguments the same way for every front-end: JIDs are
// parsed and normalized, hosts must be served, XML must be one stanza the tokenizer accepts.
// Errors name the argument, so REST can answer a list and meerkatctl one line each.

import { JidError, parseJid } from '../jid.ts';
import type { AdminCommand, ArgSpec, ArgValue, CommandArgs } from './command.ts';
import { parseOneStanza } from './stanza-input.ts';

export interface ArgProblem {
  readonly arg: string;
  readonly message: string;
}

export type ArgCheck = { ok: true; args: CommandArgs } | { ok: false; problems: ArgProblem[] };

/** `hosts`: the served hosts. Unknown argument names are refused. */
export function validateArgs(command: AdminCommand, input: Readonly<Record<string, unknown>>, hosts: readonly string[]): ArgCheck {
  const problems: ArgProblem[] = [];
  const args: Record<string, ArgValue | undefined> = {};
  const known = new Set(command.args.map((a) => a.name));
  for (const name of Object.keys(input)) {
    if (!known.has(name)) problems.push({ arg: name, message: `unknown argument (expected ${[...known].join(', ') || 'none'})` });
  }
  for (const spec of command.args) {
    const raw = input[spec.name];
    if (raw === undefined || raw === null || (raw === '' && spec.type !== 'secret')) {
      if (!spec.optional) problems.push({ arg: spec.name, message: missingMessage(spec) });
      continue;
    }
    const checked = checkValue(spec, raw, hosts);
    if (typeof checked === 'object' && checked !== null && 'problem' in checked) problems.push({ arg: spec.name, message: checked.problem });
    else args[spec.name] = checked;
  }
  return problems.length === 0 ? { ok: true, args } : { ok: false, problems };
}

function missingMessage(spec: ArgSpec): string {
  return spec.type === 'secret' ? 'a non-empty password is required' : `required (${spec.description})`;
}

type Checked = ArgValue | { problem: string };

function checkValue(spec: ArgSpec, raw: unknown, hosts: readonly string[]): Checked {
  switch (spec.type) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      return Number.isSafeInteger(n) ? n : { problem: `expected an integer, got ${JSON.stringify(raw)}` };
    }
    case 'strings':
      if (!Array.isArray(raw) || !raw.every((v) => typeof v === 'string')) return { problem: 'expected a list of strings' };
      return raw as string[];
    default:
      break;
  }
  if (typeof raw !== 'string') return { problem: `expected a string, got ${JSON.stringify(raw)}` };
  switch (spec.type) {
    case 'secret':
      return raw === '' ? { problem: 'a non-empty password is required' } : raw;
    case 'string':
      return raw;
    case 'enum':
      return spec.values?.includes(raw) ? raw : { problem: `expected one of ${(spec.values ?? []).join(', ')}, got ${JSON.stringify(raw)}` };
    case 'host':
      return hosts.includes(raw) ? raw : { problem: notServed(raw, hosts) };
    case 'jid':
      try {
        return parseJid(raw).toString();
      } catch (err) {
        if (err instanceof JidError) return { problem: `${JSON.stringify(raw)}: ${err.message}` };
        throw err;
      }
    case 'account': {
      let jid;
      try {
        jid = parseJid(raw);
      } catch (err) {
        if (err instanceof JidError) return { problem: `${JSON.stringify(raw)}: ${err.message}` };
        throw err;
      }
      if (jid.local === '' || jid.resource !== '') return { problem: `${JSON.stringify(raw)}: expected user@host` };
      if (!hosts.includes(jid.domain)) return { problem: notServed(jid.domain, hosts) };
      return jid.toString();
    }
    case 'xml': {
      const parsed = parseOneStanza(raw);
      return parsed.ok ? raw : { problem: parsed.message };
    }
  }
}

function notServed(host: string, hosts: readonly string[]): string {
  return `${host} is not a configured host (general.hosts: ${hosts.join(', ')})`;
}
