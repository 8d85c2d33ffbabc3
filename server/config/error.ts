// One error type for every configuration problem, so start-up can print a single line
// that names the file (or environment variable), the TOML path and what was wrong.

export type ConfigPath = ReadonlyArray<string | number>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    /** The file name or environment variable the value came from. */
    readonly source: string,
    readonly path: ConfigPath,
    /** The part after the path, e.g. `expected a string, got 5222`. */
    readonly detail: string,
  ) {
    super(formatMessage(source, path, detail));
  }
}

function formatMessage(source: string, path: ConfigPath, detail: string): string {
  const where = formatPath(path);
  return where === '' ? `${source}: ${detail}` : `${source}: ${where}: ${detail}`;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Renders a path the way it would be written in TOML: `listen.c2s[0].port`, `acl."a.b"`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = BARE_KEY.test(part) ? part : JSON.stringify(part);
      out += out === '' ? key : `.${key}`;
    }
  }
  return out;
}

/** Describes a received value for an error message: `-1`, `"loud"`, `a table`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? value.slice(0, 57) + '...' : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (value instanceof Date) return 'a date-time';
  if (typeof value === 'object') {
    // smol-toml returns TomlDate (a Date subclass) for dates and times.
    return 'a table';
  }
  return typeof value;
}
