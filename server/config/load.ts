// Reads meerkat.toml (or nothing: the embedded defaults), applies environment overrides,
// validates everything and returns one frozen, typed configuration.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError } from './error.ts';
import { applyEnvOverrides, overrideSource, type Env } from './env.ts';
import { configSchema, type MeerkatConfig, type ParsedConfig } from './meerkat-schema.ts';
import { crossCheck } from './validate.ts';

export interface LoadOptions {
  /** Relative paths in the file are resolved against this directory (default: the working directory). */
  baseDir?: string;
}

/**
 * Loads the configuration. Without `path`, the embedded defaults (plus `env`) are used;
 * a `path` that cannot be read is an error.
 */
export async function loadConfig(path?: string, env: Env = process.env, options: LoadOptions = {}): Promise<MeerkatConfig> {
  if (path === undefined) return parseConfig('', '(defaults)', env, options, undefined);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`;
    throw new ConfigError(path, [], reason);
  }
  return parseConfig(text, path, env, options, path);
}

/** Parses TOML text; `source` names it in error messages. */
export function parseConfig(
  text: string,
  source: string,
  env: Env = {},
  options: LoadOptions = {},
  file: string | undefined = undefined,
): MeerkatConfig {
  const baseDir = options.baseDir ?? process.cwd();
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(source, [], `invalid TOML at line ${err.line}, column ${err.column}: ${firstLine(err.message)}`);
    }
    throw err;
  }
  const overrides = applyEnvOverrides(doc, env, configSchema, baseDir);
  const sourceOf = (path: ReadonlyArray<string | number>) => overrideSource(overrides, path) ?? source;

  let parsed: ParsedConfig;
  try {
    parsed = configSchema.parse(doc, [], { source, baseDir });
  } catch (err) {
    // A value an override put there is the variable's fault, not the file's.
    if (err instanceof ConfigError && err.source === source && sourceOf(err.path) !== source) {
      throw new ConfigError(sourceOf(err.path), err.path, err.detail);
    }
    throw err;
  }
  crossCheck(parsed, sourceOf);

  const general = {
    ...parsed.general,
    default_server_domain: parsed.general.default_server_domain ?? parsed.general.hosts[0]!,
  };
  const storage = {
    ...parsed.storage,
    sqlite: { ...parsed.storage.sqlite, path: parsed.storage.sqlite.path ?? join(general.data_dir, 'meerkat.sqlite3') },
  };
  return deepFreeze({ ...parsed, general, storage, file });
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.trim();
}

/** Freezes plain tables and arrays; compiled values such as RegExp are left as they are. */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value)) {
    for (const item of value) deepFreeze(item);
    return Object.freeze(value);
  }
  if (typeof value === 'object' && value !== null) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
    return Object.freeze(value);
  }
  return value;
}
