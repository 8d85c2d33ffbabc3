// Checks a configuration the way start-up would (schema, then the module/service plan:
// unknown names, dependencies, option schemas, services a module needs) without starting
// anything, and describes what it would run: the feature report of `meerkatctl check`.

import { ConfigError } from '../config/error.ts';
import { loadConfig } from '../config/load.ts';
import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { Core } from '../core/node.ts';
import { RegistryError, type OptionsSection } from '../core/registry.ts';
import { Logger } from '../log.ts';
import type { Catalogue } from './node.ts';

export interface FeatureReport {
  readonly hosts: readonly string[];
  readonly listeners: readonly string[];
  readonly storage: string;
  readonly saslMechanisms: readonly string[];
  readonly modules: readonly { name: string; xeps: readonly string[] }[];
  readonly services: readonly string[];
}

export type ConfigCheck =
  | { ok: true; file: string | undefined; report: FeatureReport }
  | { ok: false; file: string | undefined; problems: string[] };

export async function checkConfigFile(path: string | undefined, catalogue: Catalogue, env: Record<string, string | undefined> = process.env): Promise<ConfigCheck> {
  let config: MeerkatConfig;
  try {
    config = await loadConfig(path, env);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, file: path, problems: [err.message] };
    throw err;
  }
  return checkConfig(config, catalogue);
}

export function checkConfig(config: MeerkatConfig, catalogue: Catalogue): ConfigCheck {
  const core = new Core({
    hosts: [...config.general.hosts],
    modules: [...catalogue.modules],
    services: [...catalogue.services],
    logger: new Logger('none'),
  });
  const modules = config.modules as Record<string, OptionsSection>;
  const perHost: Record<string, Record<string, OptionsSection>> = {};
  for (const host of core.hosts) perHost[host] = modules;
  let planned;
  try {
    planned = core.registry.plan({ services: config.services as Record<string, OptionsSection>, modules: perHost });
  } catch (err) {
    if (err instanceof RegistryError) return { ok: false, file: config.file, problems: err.problems.map((p) => `${config.file ?? '(defaults)'}: ${p}`) };
    throw err;
  }
  const first = planned.hosts.values().next().value ?? [];
  return {
    ok: true,
    file: config.file,
    report: {
      hosts: config.general.hosts,
      listeners: describeListeners(config),
      storage: `${config.storage.backend} (${config.storage.sqlite.path})`,
      saslMechanisms: config.auth.sasl_mechanisms,
      modules: first.map((m) => ({ name: m.def.name, xeps: m.def.xeps ?? [] })),
      services: planned.services.map(([def]) => def.name),
    },
  };
}

function describeListeners(config: MeerkatConfig): string[] {
  const out: string[] = [];
  for (const l of config.listen.c2s) out.push(`c2s ${l.ip_address}:${l.port} (${l.tls})`);
  for (const l of config.listen.http) out.push(`http ${l.ip_address}:${l.port}${l.tls ? ' (https)' : ''}: ${Object.keys(l.handlers).join(', ')}`);
  for (const l of config.listen.component) out.push(`component ${l.ip_address}:${l.port}`);
  const admin = config.listen.admin;
  if (admin) out.push(`admin ${admin.ip_address}:${admin.port} (REST /api/admin, /metrics, /health, /dashboard)`);
  return out;
}

/** The report as lines for a person. */
export function reportLines(check: ConfigCheck): string[] {
  if (!check.ok) return check.problems;
  const r = check.report;
  return [
    `configuration ${check.file ?? '(embedded defaults)'} is valid`,
    `hosts: ${r.hosts.join(', ')}`,
    ...r.listeners.map((l) => `listener: ${l}`),
    `storage: ${r.storage}`,
    `SASL: ${r.saslMechanisms.join(' ')}`,
    `services: ${r.services.join(', ') || 'none'}`,
    ...r.modules.map((m) => `module: ${m.name}${m.xeps.length > 0 ? ` (${m.xeps.join(', ')})` : ''}`),
  ];
}
