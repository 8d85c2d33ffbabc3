import { describe, expect, test } from 'bun:test';
import { ConfigError } from '../../../server/config/error.ts';
import { parseSection, s, type Infer } from '../../../server/config/schema.ts';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('schema errors name the source, the TOML path and what was expected', () => {
  const pingOptions = s.object({ ping_interval: s.int({ min: 1 }).default(60) });

  test('a bad value in a module table', () => {
    const section = { value: { ping_interval: -1 }, path: ['modules', 'mod_ping'], source: 'meerkat.toml', baseDir: '/' };
    expect(errorOf(() => parseSection(pingOptions, section)))
      .toBe('meerkat.toml: modules.mod_ping.ping_interval: expected a positive integer, got -1');
  });

  test('a wrong type', () => {
    const schema = s.object({ name: s.string() });
    expect(errorOf(() => schema.parse({ name: 5222 }, [], { source: 'a.toml' })))
      .toBe('a.toml: name: expected a non-empty string, got 5222');
    expect(errorOf(() => schema.parse({ name: [] }, ['x'])))
      .toBe('meerkat.toml: x.name: expected a non-empty string, got an empty array');
  });

  test('an unknown key inside an array of tables', () => {
    const listen = s.object({ c2s: s.array(s.object({ port: s.int(), tls: s.bool().default(false) })) });
    expect(errorOf(() => listen.parse({ c2s: [{ port: 1 }, { prot: 5222 }] }, ['listen'])))
      .toBe('meerkat.toml: listen.c2s[1].prot: unknown key (expected one of: port, tls)');
  });

  test('a bad value deep in nested arrays', () => {
    const schema = s.object({ rules: s.array(s.array(s.object({ value: s.enumOf(['allow', 'deny']) }))) });
    expect(errorOf(() => schema.parse({ rules: [[{ value: 'allow' }], [{ value: 'allow' }, { value: 'maybe' }]] })))
      .toBe('meerkat.toml: rules[1][1].value: expected one of "allow" or "deny", got "maybe"');
  });

  test('a missing required key', () => {
    const schema = s.object({ password: s.string() });
    expect(errorOf(() => schema.parse({}, ['listen', 'component', 0])))
      .toBe('meerkat.toml: listen.component[0].password: expected a non-empty string, got nothing');
  });

  test('ranges, booleans, tables and quoting of odd keys', () => {
    expect(errorOf(() => s.int({ min: 1, max: 65535 }).parse(70000, ['port']))).toBe('meerkat.toml: port: expected an integer from 1 to 65535, got 70000');
    expect(errorOf(() => s.int().parse(1.5, ['n']))).toBe('meerkat.toml: n: expected an integer, got 1.5');
    expect(errorOf(() => s.bool().parse('yes', ['b']))).toBe('meerkat.toml: b: expected a boolean (true or false), got "yes"');
    expect(errorOf(() => s.object({}).parse('x', ['t']))).toBe('meerkat.toml: t: expected a table, got "x"');
    expect(errorOf(() => s.record(s.int()).parse({ 'a.b': 'x' }, ['acl']))).toBe('meerkat.toml: acl."a.b": expected an integer, got "x"');
    expect(errorOf(() => s.array(s.int(), { minLength: 1 }).parse([], ['hosts']))).toBe('meerkat.toml: hosts: expected at least 1 item, got an empty array');
    expect(errorOf(() => s.array(s.string(), { unique: true }).parse(['a', 'a'], ['hosts']))).toBe('meerkat.toml: hosts[1]: expected no duplicates, got "a" again');
    expect(errorOf(() => s.record(s.int(), { keyPattern: /^mod_/, keyWhat: 'a module name' }).parse({ ping: 1 }, ['modules'])))
      .toBe('meerkat.toml: modules.ping: invalid name (expected a module name)');
  });
});

describe('schema values', () => {
  test('defaults fill absent keys and go through the same checks', () => {
    const schema = s.object({
      port: s.int({ min: 1, max: 65535 }).default(5222),
      timeout: s.duration().default('30s'),
      dir: s.path().default('./var'),
      nested: s.object({ on: s.bool().default(true) }).default({}),
      maybe: s.string().optional(),
    });
    const value = schema.parse({}, [], { baseDir: '/srv' });
    expect(value).toEqual({ port: 5222, timeout: 30_000, dir: '/srv/var', nested: { on: true } });
    // The inferred type: optional keys stay optional, the rest are required.
    const typed: Infer<typeof schema> = value;
    expect(typed.maybe).toBeUndefined();
  });

  test('durations', () => {
    const d = s.duration();
    expect(d.parse('500ms')).toBe(500);
    expect(d.parse('5m')).toBe(300_000);
    expect(d.parse('2h')).toBe(7_200_000);
    expect(d.parse(10)).toBe(10_000);
    expect(errorOf(() => d.parse('soon', ['t']))).toBe('meerkat.toml: t: expected a positive duration such as "30s", "5m" or "500ms", got "soon"');
    expect(errorOf(() => d.parse('0s', ['t']))).toContain('got "0s"');
  });

  test('string patterns, refine and map', () => {
    const host = s.string({ pattern: /^[a-z.]+$/, what: 'a lower-case domain name' });
    expect(host.parse('a.example')).toBe('a.example');
    expect(errorOf(() => host.parse('A.example', ['h']))).toBe('meerkat.toml: h: expected a lower-case domain name, got "A.example"');
    const even = s.int().refine('an even integer', (n) => n % 2 === 0);
    expect(errorOf(() => even.parse(3, ['n']))).toBe('meerkat.toml: n: expected an even integer, got 3');
    expect(s.string().map((v) => v.length).parse('four')).toBe(4);
  });

  test('records use a null prototype, so "__proto__" is just a name', () => {
    const value = s.record(s.int()).parse(JSON.parse('{"__proto__": 1, "x": 2}'));
    expect(Object.getPrototypeOf(value)).toBeNull();
    expect(value['__proto__']).toBe(1);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('sections keep module options raw with their origin', () => {
    const schema = s.object({ modules: s.record(s.section()) });
    const parsed = schema.parse({ modules: { mod_ping: { ping_interval: 5 } } }, [], { source: 'x.toml', baseDir: '/d' });
    expect(parsed.modules.mod_ping).toEqual({ value: { ping_interval: 5 }, path: ['modules', 'mod_ping'], source: 'x.toml', baseDir: '/d' });
  });
});
