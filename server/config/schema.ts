// A small typed schema language for parsed TOML. The core and every module describe their
// options with it; parsing yields typed, defaulted values, and every failure is a
// ConfigError saying `<file>: <toml.path>: expected <what>, got <what>`.
//
// Defaults are written as raw TOML-shaped values and go through the same checks as the
// file, so a default path is resolved and a default duration is converted exactly like a
// configured one.

import { resolve } from 'node:path';
import { ConfigError, describeValue, type ConfigPath } from './error.ts';

export interface ParseContext {
  /** File name or environment variable the value came from; starts every error message. */
  readonly source: string;
  /** Directory that relative paths are resolved against. */
  readonly baseDir: string;
}

const DEFAULT_CONTEXT: ParseContext = { source: 'meerkat.toml', baseDir: '.' };

export abstract class Schema<T, I = T> {
  /** What a valid value looks like, as used after "expected": `a positive integer`. */
  abstract readonly expected: string;

  /** Validates one present value; `path` is where it sits in the document. */
  abstract check(value: unknown, path: ConfigPath, ctx: ParseContext): T;

  /** Result for a key that is absent; throws when the key is required. */
  whenMissing(path: ConfigPath, ctx: ParseContext): T {
    throw new ConfigError(ctx.source, path, `expected ${this.expected}, got nothing`);
  }

  /** The schema of a nested key, for addressing it from an environment variable. */
  child(_key: string): Schema<unknown, unknown> | undefined {
    return undefined;
  }

  /** Turns environment variable text into the TOML value this schema expects. */
  fromEnv(text: string): unknown {
    return text;
  }

  /** Keys a table accepts, for error messages; undefined for non-tables. */
  knownKeys(): readonly string[] | undefined {
    return undefined;
  }

  /** The raw default of a `.default(...)` schema, so overrides can build on it. */
  rawDefault(): unknown {
    return undefined;
  }

  parse(value: unknown, path: ConfigPath = [], ctx: Partial<ParseContext> = {}): T {
    const full: ParseContext = { ...DEFAULT_CONTEXT, ...ctx };
    return value === undefined ? this.whenMissing(path, full) : this.check(value, path, full);
  }

  /** Absent → this raw value, validated like a configured one. */
  default(raw: I): Schema<T, I> {
    return new DefaultSchema(this, raw);
  }

  optional(): Schema<T | undefined, I> {
    return new OptionalSchema(this);
  }

  /** Extra validation: `test` returns true when the value is acceptable. */
  refine(expected: string, test: (value: T) => boolean): Schema<T, I> {
    return new RefinedSchema(this, expected, test);
  }

  /** Converts a validated value (e.g. a string into a compiled RegExp). */
  map<U>(convert: (value: T, path: ConfigPath, ctx: ParseContext) => U): Schema<U, I> {
    return new MappedSchema(this, convert);
  }

  protected fail(value: unknown, path: ConfigPath, ctx: ParseContext, expected = this.expected): never {
    throw new ConfigError(ctx.source, path, `expected ${expected}, got ${describeValue(value)}`);
  }
}

export type Infer<S> = S extends Schema<infer T, unknown> ? T : never;

class DefaultSchema<T, I> extends Schema<T, I> {
  constructor(private readonly inner: Schema<T, I>, private readonly raw: I) { super(); }
  override child(key: string): Schema<unknown, unknown> | undefined { return this.inner.child(key); }
  override fromEnv(text: string): unknown { return this.inner.fromEnv(text); }
  override knownKeys(): readonly string[] | undefined { return this.inner.knownKeys(); }
  get expected(): string { return this.inner.expected; }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): T { return this.inner.check(value, path, ctx); }
  override whenMissing(path: ConfigPath, ctx: ParseContext): T { return this.inner.check(this.raw, path, ctx); }
  override rawDefault(): unknown { return this.raw; }
}

class OptionalSchema<T, I> extends Schema<T | undefined, I> {
  constructor(private readonly inner: Schema<T, I>) { super(); }
  override child(key: string): Schema<unknown, unknown> | undefined { return this.inner.child(key); }
  override fromEnv(text: string): unknown { return this.inner.fromEnv(text); }
  override knownKeys(): readonly string[] | undefined { return this.inner.knownKeys(); }
  override rawDefault(): unknown { return this.inner.rawDefault(); }
  get expected(): string { return this.inner.expected; }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): T { return this.inner.check(value, path, ctx); }
  override whenMissing(): undefined { return undefined; }
}

class RefinedSchema<T, I> extends Schema<T, I> {
  constructor(
    private readonly inner: Schema<T, I>,
    readonly expected: string,
    private readonly test: (value: T) => boolean,
  ) { super(); }
  override child(key: string): Schema<unknown, unknown> | undefined { return this.inner.child(key); }
  override fromEnv(text: string): unknown { return this.inner.fromEnv(text); }
  override knownKeys(): readonly string[] | undefined { return this.inner.knownKeys(); }
  override rawDefault(): unknown { return this.inner.rawDefault(); }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): T {
    const checked = this.inner.check(value, path, ctx);
    if (!this.test(checked)) this.fail(value, path, ctx);
    return checked;
  }
  override whenMissing(path: ConfigPath, ctx: ParseContext): T {
    const checked = this.inner.whenMissing(path, ctx);
    if (checked !== undefined && !this.test(checked)) this.fail(checked, path, ctx);
    return checked;
  }
}

class MappedSchema<T, U, I> extends Schema<U, I> {
  constructor(
    private readonly inner: Schema<T, I>,
    private readonly convert: (value: T, path: ConfigPath, ctx: ParseContext) => U,
  ) { super(); }
  override child(key: string): Schema<unknown, unknown> | undefined { return this.inner.child(key); }
  override fromEnv(text: string): unknown { return this.inner.fromEnv(text); }
  override knownKeys(): readonly string[] | undefined { return this.inner.knownKeys(); }
  override rawDefault(): unknown { return this.inner.rawDefault(); }
  get expected(): string { return this.inner.expected; }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): U {
    return this.convert(this.inner.check(value, path, ctx), path, ctx);
  }
  override whenMissing(path: ConfigPath, ctx: ParseContext): U {
    return this.convert(this.inner.whenMissing(path, ctx), path, ctx);
  }
}

// ---- scalars ----

export interface IntOptions { min?: number; max?: number }

class IntSchema extends Schema<number> {
  override fromEnv(text: string): unknown { return /^-?\d+$/.test(text) ? Number(text) : text; }
  readonly expected: string;
  constructor(private readonly opts: IntOptions) {
    super();
    this.expected = describeIntRange(opts);
  }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(value, path, ctx);
    if (this.opts.min !== undefined && value < this.opts.min) this.fail(value, path, ctx);
    if (this.opts.max !== undefined && value > this.opts.max) this.fail(value, path, ctx);
    return value;
  }
}

function describeIntRange({ min, max }: IntOptions): string {
  if (min !== undefined && max !== undefined) return `an integer from ${min} to ${max}`;
  if (min === 1) return 'a positive integer';
  if (min === 0) return 'a non-negative integer';
  if (min !== undefined) return `an integer of at least ${min}`;
  if (max !== undefined) return `an integer of at most ${max}`;
  return 'an integer';
}

export interface StringOptions {
  pattern?: RegExp;
  /** How to describe a valid value when a pattern is given: `a domain name`. */
  what?: string;
  /** Reject the empty string (the default). */
  nonEmpty?: boolean;
}

class StringSchema extends Schema<string> {
  readonly expected: string;
  constructor(private readonly opts: StringOptions) {
    super();
    this.expected = opts.what ?? (opts.pattern ? `a string matching ${opts.pattern}` : 'a non-empty string');
    if (opts.nonEmpty === false && !opts.what && !opts.pattern) this.expected = 'a string';
  }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): string {
    if (typeof value !== 'string') this.fail(value, path, ctx);
    if (this.opts.nonEmpty !== false && value === '') this.fail(value, path, ctx);
    if (this.opts.pattern && !this.opts.pattern.test(value)) this.fail(value, path, ctx);
    return value;
  }
}

class BoolSchema extends Schema<boolean> {
  override fromEnv(text: string): unknown { return text === 'true' ? true : text === 'false' ? false : text; }
  readonly expected = 'a boolean (true or false)';
  check(value: unknown, path: ConfigPath, ctx: ParseContext): boolean {
    if (typeof value !== 'boolean') this.fail(value, path, ctx);
    return value;
  }
}

class EnumSchema<V extends string> extends Schema<V> {
  readonly expected: string;
  constructor(private readonly values: readonly V[]) {
    super();
    const quoted = values.map((v) => JSON.stringify(v));
    this.expected = quoted.length === 1
      ? quoted[0]!
      : `one of ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
  }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): V {
    if (typeof value !== 'string' || !(this.values as readonly string[]).includes(value)) this.fail(value, path, ctx);
    return value as V;
  }
}

const DURATION = /^(\d+)(ms|s|min|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Durations are written `"500ms"`, `"30s"`, `"5m"`, `"2h"`, `"1d"`, or as a bare integer of seconds; the value is milliseconds. */
class DurationSchema extends Schema<number, string | number> {
  override fromEnv(text: string): unknown { return /^\d+$/.test(text) ? Number(text) : text; }
  readonly expected: string;
  constructor(private readonly opts: { min?: number; max?: number }) {
    super();
    const kind = opts.min === 0 ? 'a duration' : 'a positive duration';
    this.expected = opts.max === undefined
      ? `${kind} such as "30s", "5m" or "500ms"`
      : `${kind} of at most ${opts.max / 1000}s, such as "30s"`;
  }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): number {
    let ms: number;
    if (typeof value === 'number' && Number.isSafeInteger(value)) ms = value * 1000;
    else if (typeof value === 'string' && DURATION.test(value)) {
      const [, amount, unit] = DURATION.exec(value)!;
      ms = Number(amount) * UNIT_MS[unit!]!;
    } else this.fail(value, path, ctx);
    const min = this.opts.min ?? 1;
    if (!Number.isSafeInteger(ms) || ms < min || (this.opts.max !== undefined && ms > this.opts.max)) this.fail(value, path, ctx);
    return ms;
  }
}

/** A file system path; relative paths are resolved against the context's base directory. */
class PathSchema extends Schema<string> {
  readonly expected = 'a file system path';
  check(value: unknown, path: ConfigPath, ctx: ParseContext): string {
    if (typeof value !== 'string' || value === '' || value.includes('\0')) this.fail(value, path, ctx);
    return resolve(ctx.baseDir, value);
  }
}

// ---- containers ----

export interface ArrayOptions { minLength?: number; unique?: boolean }

class ArraySchema<T, I> extends Schema<ReadonlyArray<T>, ReadonlyArray<I>> {
  override child(key: string): Schema<unknown, unknown> | undefined {
    return /^\d+$/.test(key) ? this.item : undefined;
  }
  /** `a,b,c`, or an inline TOML array when the text starts with "[" (handled by the caller). */
  override fromEnv(text: string): unknown {
    return text === '' ? [] : text.split(',').map((part) => this.item.fromEnv(part.trim()));
  }
  readonly expected = 'an array';
  constructor(private readonly item: Schema<T, I>, private readonly opts: ArrayOptions) { super(); }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): ReadonlyArray<T> {
    if (!Array.isArray(value)) this.fail(value, path, ctx);
    const min = this.opts.minLength ?? 0;
    if (value.length < min) {
      this.fail(value, path, ctx, `at least ${min} ${min === 1 ? 'item' : 'items'}`);
    }
    const out: T[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = this.item.check(value[i], [...path, i], ctx);
      if (this.opts.unique && out.includes(item)) {
        throw new ConfigError(ctx.source, [...path, i], `expected no duplicates, got ${describeValue(value[i])} again`);
      }
      out.push(item);
    }
    return out;
  }
}

/** Plain TOML table: not an array, not a date. */
function isTable(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Date) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

type Shape = Record<string, Schema<unknown, unknown>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Infer<S[K]> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOutput<S extends Shape> = Simplify<
  { readonly [K in RequiredKeys<S>]: Infer<S[K]> } & { readonly [K in OptionalKeys<S>]?: Infer<S[K]> }
>;
export type RawTable = { readonly [key: string]: unknown };

/** A TOML table with known keys; an unknown key is an error, so typos never pass silently. */
export class ObjectSchema<S extends Shape> extends Schema<ObjectOutput<S>, RawTable> {
  override child(key: string): Schema<unknown, unknown> | undefined {
    return Object.hasOwn(this.shape, key) ? this.shape[key] : undefined;
  }
  override knownKeys(): readonly string[] { return Object.keys(this.shape); }
  readonly expected = 'a table';
  constructor(readonly shape: S) { super(); }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): ObjectOutput<S> {
    if (!isTable(value)) this.fail(value, path, ctx);
    const known = Object.keys(this.shape);
    for (const key of Object.keys(value)) {
      if (!Object.hasOwn(this.shape, key)) {
        throw new ConfigError(ctx.source, [...path, key], `unknown key (expected one of: ${known.join(', ')})`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const field = this.shape[key]!;
      const present = Object.hasOwn(value, key) ? value[key] : undefined;
      const parsed = present === undefined ? field.whenMissing([...path, key], ctx) : field.check(present, [...path, key], ctx);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjectOutput<S>;
  }
}

export interface RecordOptions {
  keyPattern?: RegExp;
  /** Describes a valid key for the error message: `a module name such as mod_ping`. */
  keyWhat?: string;
}

/** A table whose keys are names chosen by the operator (`[shaper.<name>]`, `[modules.<name>]`). */
class RecordSchema<T, I> extends Schema<Readonly<Record<string, T>>, Readonly<Record<string, I>>> {
  override child(key: string): Schema<unknown, unknown> | undefined {
    return this.opts.keyPattern && !this.opts.keyPattern.test(key) ? undefined : this.item;
  }
  readonly expected = 'a table';
  constructor(private readonly item: Schema<T, I>, private readonly opts: RecordOptions) { super(); }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): Readonly<Record<string, T>> {
    if (!isTable(value)) this.fail(value, path, ctx);
    // A null prototype: operator-chosen names such as "__proto__" stay plain keys.
    const out: Record<string, T> = Object.create(null);
    for (const key of Object.keys(value)) {
      if (this.opts.keyPattern && !this.opts.keyPattern.test(key)) {
        const what = this.opts.keyWhat ?? `a name matching ${this.opts.keyPattern}`;
        throw new ConfigError(ctx.source, [...path, key], `invalid name (expected ${what})`);
      }
      out[key] = this.item.check(value[key], [...path, key], ctx);
    }
    return out;
  }
}

/** The first alternative that accepts the value wins; for scalars with several shapes. */
class OneOfSchema<T> extends Schema<T, unknown> {
  constructor(private readonly options: ReadonlyArray<Schema<T, unknown>>, readonly expected: string) { super(); }
  // The first alternative whose conversion it passes decides how environment text is read.
  override fromEnv(text: string): unknown {
    for (const option of this.options) {
      const value = option.fromEnv(text);
      if (value !== text) return value;
    }
    return text;
  }
  check(value: unknown, path: ConfigPath, ctx: ParseContext): T {
    for (const option of this.options) {
      try {
        return option.check(value, path, ctx);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
      }
    }
    this.fail(value, path, ctx);
  }
}

/**
 * A table kept raw, with where it came from, for a later owner to validate with its own
 * schema (module and service options): `section.schema.parse(section.value, section.path, section)`.
 */
export interface RawSection {
  readonly value: RawTable;
  readonly path: ConfigPath;
  readonly source: string;
  readonly baseDir: string;
}

class SectionSchema extends Schema<RawSection, RawTable> {
  // Module options are validated later by the module; guess the TOML type from the text.
  override child(): Schema<unknown, unknown> { return new GuessSchema(); }
  readonly expected = 'a table';
  check(value: unknown, path: ConfigPath, ctx: ParseContext): RawSection {
    if (!isTable(value)) this.fail(value, path, ctx);
    return { value, path: [...path], source: ctx.source, baseDir: ctx.baseDir };
  }
}

/** Any value; environment text becomes an integer or boolean when it reads as one. */
class GuessSchema extends Schema<unknown> {
  readonly expected = 'a value';
  check(value: unknown): unknown { return value; }
  override child(): Schema<unknown, unknown> { return this; }
  override fromEnv(text: string): unknown {
    if (/^-?\d+$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    return text;
  }
}

/** Validates a raw section with the owner's schema; errors name the original file and path. */
export function parseSection<T>(schema: Schema<T, unknown>, section: RawSection): T {
  return schema.parse(section.value, section.path, section);
}

export const s = {
  int: (opts: IntOptions = {}): Schema<number> => new IntSchema(opts),
  string: (opts: StringOptions = {}): Schema<string> => new StringSchema(opts),
  bool: (): Schema<boolean> => new BoolSchema(),
  enumOf: <const V extends string>(values: readonly V[]): Schema<V> => new EnumSchema(values),
  duration: (opts: { min?: number; max?: number } = {}): Schema<number, string | number> => new DurationSchema(opts),
  path: (): Schema<string> => new PathSchema(),
  array: <T, I>(item: Schema<T, I>, opts: ArrayOptions = {}): Schema<ReadonlyArray<T>, ReadonlyArray<I>> =>
    new ArraySchema(item, opts),
  object: <S extends Shape>(shape: S): ObjectSchema<S> => new ObjectSchema(shape),
  record: <T, I>(item: Schema<T, I>, opts: RecordOptions = {}): Schema<Readonly<Record<string, T>>, Readonly<Record<string, I>>> =>
    new RecordSchema(item, opts),
  oneOf: <T>(expected: string, options: ReadonlyArray<Schema<T, unknown>>): Schema<T, unknown> => new OneOfSchema(options, expected),
  optional: <T, I>(schema: Schema<T, I>): Schema<T | undefined, I> => schema.optional(),
  section: (): Schema<RawSection, RawTable> => new SectionSchema(),
};
