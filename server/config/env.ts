// Environment overrides for containers: MEERKAT_<SECTION>__<KEY>[__<KEY>...] = value.
//
// `__` separates path segments, a single `_` stays part of a key, and segments are
// lower-cased: MEERKAT_GENERAL__DEFAULT_SERVER_DOMAIN sets general.default_server_domain,
// MEERKAT_LISTEN__C2S__0__PORT sets listen.c2s[0].port. Variables without `__` (such as
// MEERKAT_LOG_LEVEL) are not overrides. The value is converted to the type the schema
// expects (integers, booleans, comma-separated lists) or, when it starts with "[" or "{",
// read as an inline TOML value. Each value is validated on its own, so an error names
// the variable.

import { parse as parseToml } from 'smol-toml';
import { ConfigError, describeValue, formatPath } from './error.ts';
import type { Schema } from './schema.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvOverride {
  readonly variable: string;
  readonly path: ReadonlyArray<string | number>;
}

const OVERRIDE = /^MEERKAT_([A-Z0-9_]+?(?:__[A-Z0-9_]+?)+)$/;

type Table = Record<string, unknown>;

/**
 * Applies every override in `env` to `doc` (the parsed TOML, modified in place) and
 * returns the overrides applied, in a stable order.
 */
export function applyEnvOverrides(doc: Table, env: Env, root: Schema<unknown, unknown>, baseDir: string): EnvOverride[] {
  const applied: EnvOverride[] = [];
  const names = Object.keys(env).filter((name) => OVERRIDE.test(name)).sort();
  for (const variable of names) {
    const text = env[variable];
    if (text === undefined) continue;
    const segments = OVERRIDE.exec(variable)![1]!.split('__').map((part) => part.toLowerCase());
    if (segments.some((part) => part === '')) {
      throw new ConfigError(variable, [], 'expected MEERKAT_<SECTION>__<KEY> with non-empty parts');
    }
    applied.push({ variable, path: setOverride(doc, segments, text, variable, root, baseDir) });
  }
  return applied;
}

function setOverride(
  doc: Table,
  segments: string[],
  text: string,
  variable: string,
  root: Schema<unknown, unknown>,
  baseDir: string,
): Array<string | number> {
  const path: Array<string | number> = [];
  let schema = root;
  let container: Table | unknown[] = doc;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const inArray = Array.isArray(container);
    const key: string | number = inArray ? Number(segment) : segment;
    const child = schema.child(segment);
    if (child === undefined || (inArray && !/^\d+$/.test(segment))) {
      const keys = schema.knownKeys();
      const detail = inArray
        ? 'expected an array index'
        : keys ? `unknown key (expected one of: ${keys.join(', ')})` : 'unknown key';
      throw new ConfigError(variable, [...path, key], detail);
    }
    path.push(key);
    schema = child;
    const last = i === segments.length - 1;
    if (last) {
      const value = convert(text, schema, variable, path);
      schema.check(value, path, { source: variable, baseDir });
      assign(container, key, value);
      break;
    }
    let next = read(container, key);
    if (next === undefined) {
      if (inArray && (key as number) > (container as unknown[]).length) {
        throw new ConfigError(variable, path, `expected an index of at most ${(container as unknown[]).length}, got ${key}`);
      }
      // Build on the embedded default, so overriding one listener's port keeps the others.
      next = structuredClone(schema.rawDefault() ?? (isArraySchema(schema) ? [] : {}));
      assign(container, key, next);
    }
    if (typeof next !== 'object' || next === null) {
      throw new ConfigError(variable, path, `expected a table, got ${describeValue(next)}`);
    }
    container = next as Table | unknown[];
  }
  return path;
}

function isArraySchema(schema: Schema<unknown, unknown>): boolean {
  // Array schemas describe themselves this way; nothing else does.
  return schema.expected === 'an array';
}

function convert(text: string, schema: Schema<unknown, unknown>, variable: string, path: ReadonlyArray<string | number>): unknown {
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return parseToml(`value = ${text}`).value;
    } catch {
      throw new ConfigError(variable, path, `expected an inline TOML value, got ${describeValue(text)}`);
    }
  }
  return schema.fromEnv(text);
}

function read(container: Table | unknown[], key: string | number): unknown {
  if (Array.isArray(container)) return container[key as number];
  return Object.hasOwn(container, key) ? container[key as string] : undefined;
}

function assign(container: Table | unknown[], key: string | number, value: unknown): void {
  if (Array.isArray(container)) container[key as number] = value;
  else Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The variable that set `path` or one of its parents, if any. */
export function overrideSource(overrides: readonly EnvOverride[], path: ReadonlyArray<string | number>): string | undefined {
  const target = formatPath(path);
  for (const { variable, path: set } of overrides) {
    const prefix = formatPath(set);
    if (target === prefix || target.startsWith(prefix + '.') || target.startsWith(prefix + '[')) return variable;
  }
  return undefined;
}
