import { describe, expect, test } from 'bun:test';
import {
  defineModule, defineService, RegistryError,
  type ModuleDefinition, type OptionsSchema, type RegistryConfig, type ServiceDefinition,
} from '../../../server/core/registry.ts';
import { s } from '../../../server/config/schema.ts';
import { xml } from '../../../server/xml/element.ts';
import { FakeSession, packet, testCore } from './fakes.ts';

interface Opts {
  level: number;
}

/** A hand-written schema: a table with an optional non-negative integer `level`. */
const levelSchema: OptionsSchema<Opts> = {
  parse(value, path) {
    const level = (value as { level?: unknown }).level ?? 1;
    if (typeof level !== 'number' || level < 0) throw new Error(`meerkat.toml: ${[...path, 'level'].join('.')}: expected a non-negative integer, got ${String(level)}`);
    return { level };
  },
};

function mod(name: string, events: string[], extra: Partial<ModuleDefinition<Opts>> = {}): ModuleDefinition<Opts> {
  return defineModule<Opts>({
    name,
    defaults: { level: 0 },
    schema: levelSchema,
    start(host, opts) { events.push(`start ${name} ${host} level=${opts.level}`); },
    stop(host) { events.push(`stop ${name} ${host}`); },
    ...extra,
  });
}

function service(name: string, events: string[]): ServiceDefinition<Opts, { name: string }> {
  return defineService<Opts, { name: string }>({
    name,
    schema: levelSchema,
    start(opts) { events.push(`start ${name} level=${opts.level}`); return { name }; },
    stop() { events.push(`stop ${name}`); },
  });
}

const section = (value: Record<string, unknown> = {}) => ({ value });

function config(modules: Record<string, Record<string, unknown>>, services: Record<string, Record<string, unknown>> = {}): RegistryConfig {
  const out: RegistryConfig = { modules: {}, services: {} };
  for (const [host, mods] of Object.entries(modules)) {
    out.modules[host] = {};
    for (const [name, v] of Object.entries(mods)) out.modules[host][name] = section(v as Record<string, unknown>);
  }
  for (const [name, v] of Object.entries(services)) out.services![name] = section(v);
  return out;
}

async function startError(p: Promise<void>): Promise<RegistryError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RegistryError);
  return err as RegistryError;
}

describe('module registry: start order', () => {
  test('dependencies start first, with their defaults when not configured; stop runs in reverse', async () => {
    const events: string[] = [];
    const { core } = testCore({
      modules: [
        mod('mod_a', events),
        mod('mod_b', events, { deps: ['mod_a'] }),
        mod('mod_c', events, { deps: ['mod_b', 'mod_a'] }),
        mod('mod_x', events),
      ],
    });
    await core.registry.start(config({ 'example.com': { mod_c: { level: 3 }, mod_x: {} } }));
    expect(events).toEqual([
      'start mod_a example.com level=0',
      'start mod_b example.com level=0',
      'start mod_c example.com level=3',
      'start mod_x example.com level=1',
    ]);
    expect(core.registry.running('example.com')).toEqual(['mod_a', 'mod_b', 'mod_c', 'mod_x']);
    events.length = 0;
    await core.registry.stop();
    expect(events).toEqual(['stop mod_x example.com', 'stop mod_c example.com', 'stop mod_b example.com', 'stop mod_a example.com']);
  });

  test('services start once, before any module, and modules reach their API', async () => {
    const events: string[] = [];
    let seen: { name: string } | undefined;
    const { core } = testCore({
      hosts: ['a.example', 'b.example'],
      services: [service('service_admin', events)],
      modules: [mod('mod_admin', events, {
        requiresServices: ['service_admin'],
        start(host, _opts, ctx) { seen = ctx.service<{ name: string }>('service_admin'); events.push(`start mod_admin ${host}`); },
      })],
    });
    await core.registry.start(config({ 'a.example': { mod_admin: {} }, 'b.example': { mod_admin: {} } }, { service_admin: { level: 2 } }));
    expect(events).toEqual(['start service_admin level=2', 'start mod_admin a.example', 'start mod_admin b.example']);
    expect(seen).toEqual({ name: 'service_admin' });
    await core.registry.stop();
    expect(events.slice(-3)).toEqual(['stop mod_admin b.example', 'stop mod_admin a.example', 'stop service_admin']);
  });

  test('a module naming a service it did not declare is refused', async () => {
    const { core } = testCore({
      services: [service('service_x', [])],
      modules: [mod('mod_sneaky', [], { start(_h, _o, ctx) { ctx.service('service_x'); } })],
    });
    const err = await startError(core.registry.start(config({ 'example.com': { mod_sneaky: {} } }, { service_x: {} })));
    expect(err.message).toBe('mod_sneaky failed to start on example.com: mod_sneaky uses service service_x without listing it in requiresServices');
  });
});

describe('module registry: configuration errors', () => {
  test('a module that needs an unconfigured service fails naming both, before anything starts', async () => {
    const events: string[] = [];
    const { core } = testCore({
      services: [service('service_y', events)],
      modules: [mod('mod_ok', events), mod('mod_x', events, { requiresServices: ['service_y'] })],
    });
    const err = await startError(core.registry.start(config({ 'example.com': { mod_ok: {}, mod_x: {} } })));
    expect(err.message).toBe('mod_x requires service_y, which is not configured in [services]');
    expect(events).toEqual([]);
  });

  test('a dependency cycle is reported with its path', async () => {
    const { core } = testCore({
      modules: [mod('mod_p', [], { deps: ['mod_q'] }), mod('mod_q', [], { deps: ['mod_r'] }), mod('mod_r', [], { deps: ['mod_p'] })],
    });
    const err = await startError(core.registry.start(config({ 'example.com': { mod_p: {} } })));
    expect(err.message).toBe('module dependency cycle: mod_p -> mod_q -> mod_r -> mod_p');
  });

  test('every problem is reported at once', async () => {
    const { core } = testCore({ modules: [mod('mod_a', [], { deps: ['mod_missing'] }), mod('mod_b', [])] });
    const err = await startError(core.registry.start(config(
      { 'example.com': { mod_a: {}, mod_b: { level: -1 }, mod_nope: {} } },
      { service_nope: {} },
    )));
    expect(err.problems).toEqual([
      'unknown service service_nope in [services]',
      'mod_a depends on mod_missing, which does not exist',
      'meerkat.toml: modules.mod_b.level: expected a non-negative integer, got -1',
      'unknown module mod_nope in [modules] (host example.com)',
    ]);
  });

  test('schema errors from the config DSL name the file and TOML path of the section', async () => {
    const schema = s.object({ ping_interval: s.int({ min: 1 }).default(60) });
    const { core } = testCore({
      modules: [defineModule({ name: 'mod_ping', defaults: { ping_interval: 60 }, schema, start() {} }) as ModuleDefinition<unknown>],
    });
    const err = await startError(core.registry.start({
      modules: { 'example.com': { mod_ping: { value: { ping_interval: -1 }, path: ['modules', 'mod_ping'], source: 'test.toml', baseDir: '.' } } },
    }));
    expect(err.message).toStartWith('test.toml: modules.mod_ping.ping_interval: expected');
  });
});

describe('module registry: registrations are removed on stop', () => {
  test('hooks, IQ handlers, features, domain routes and onStop cleanups', async () => {
    const order: string[] = [];
    const { core } = testCore({
      modules: [defineModule<Opts>({
        name: 'mod_everything',
        defaults: { level: 0 },
        schema: levelSchema,
        start(_host, _opts, ctx) {
          ctx.addHook('offline_message', () => 'stop');
          ctx.addIqHandler('local', 'urn:xmpp:ping', 'ping', () => null);
          ctx.addIqHandler('sm', 'vcard-temp', 'vCard', () => xml('vCard', { xmlns: 'vcard-temp' }));
          ctx.addFeature('urn:xmpp:ping');
          ctx.addDomainRoute('pubsub.example.com', { route: () => {} });
          ctx.onStop(() => { order.push('onStop cleanup'); });
          expect(ctx.features()).toEqual(['urn:xmpp:ping']);
        },
        stop() {
          // stop() runs while the registrations are still in place
          order.push(`stop sees ${core.hooks.count('offline_message', 'example.com')} hook`);
        },
      })],
    });
    await core.registry.start(config({ 'example.com': { mod_everything: {} } }));
    expect(core.hooks.count('offline_message', 'example.com')).toBe(1);
    expect(core.iq.handlerFor('local', 'example.com', 'urn:xmpp:ping', 'ping')).toBeDefined();
    expect(core.registry.features('example.com')).toEqual(['urn:xmpp:ping']);

    await core.registry.stop();
    expect(order).toEqual(['stop sees 1 hook', 'onStop cleanup']);
    expect(core.hooks.count('offline_message', 'example.com')).toBe(0);
    expect(core.iq.handlerFor('local', 'example.com', 'urn:xmpp:ping', 'ping')).toBeUndefined();
    expect(core.iq.handlerFor('sm', 'example.com', 'vcard-temp', 'vCard')).toBeUndefined();
    expect(core.registry.features('example.com')).toEqual([]);
    // The component domain is gone: routing there now fails like any unknown domain.
    const alice = new FakeSession('alice@example.com/r');
    core.sessions.open(alice);
    core.router.route(packet("<message from='alice@example.com/r' to='pubsub.example.com'><body>x</body></message>"));
    expect(alice.sent[0].element().getChild('error')?.getChild('remote-server-not-found')).toBeDefined();
    // A fresh start registers everything again without "already registered" errors.
    await core.registry.start(config({ 'example.com': { mod_everything: {} } }));
    expect(core.hooks.count('offline_message', 'example.com')).toBe(1);
  });

  test('a feature announced by two modules stays until both stop', async () => {
    const adds = (name: string) => defineModule<Opts>({ name, defaults: { level: 0 }, schema: levelSchema, start(_h, _o, ctx) { ctx.addFeature('urn:shared'); ctx.addFeature(`urn:${name}`); } });
    const { core } = testCore({ modules: [adds('mod_one'), adds('mod_two')] });
    await core.registry.start(config({ 'example.com': { mod_one: {}, mod_two: {} } }));
    expect(core.registry.features('example.com')).toEqual(['urn:mod_one', 'urn:mod_two', 'urn:shared']);
    await core.registry.stopModule('example.com', 'mod_one');
    expect(core.registry.features('example.com')).toEqual(['urn:mod_two', 'urn:shared']);
  });

  test('a failed start rolls back what was started, including its own registrations', async () => {
    const events: string[] = [];
    const { core } = testCore({
      modules: [
        mod('mod_ok', events),
        mod('mod_bad', events, { start(_h, _o, ctx) { ctx.addHook('session_opened', () => {}); throw new Error('boom'); } }),
      ],
    });
    const err = await startError(core.registry.start(config({ 'example.com': { mod_ok: {}, mod_bad: {} } })));
    expect(err.message).toBe('mod_bad failed to start on example.com: boom');
    expect(core.hooks.count('session_opened', 'example.com')).toBe(0);
    expect(events).toEqual(['start mod_ok example.com level=1', 'stop mod_bad example.com', 'stop mod_ok example.com']);
    expect(core.registry.running('example.com')).toEqual([]);
  });

  test('a module cannot be stopped while another depends on it', async () => {
    const events: string[] = [];
    const { core } = testCore({ modules: [mod('mod_base', events), mod('mod_top', events, { deps: ['mod_base'] })] });
    await core.registry.start(config({ 'example.com': { mod_top: {} } }));
    const err = await startError(core.registry.stopModule('example.com', 'mod_base'));
    expect(err.message).toBe('cannot stop mod_base on example.com: mod_top depends on it');
    await core.registry.stopModule('example.com', 'mod_top');
    await core.registry.stopModule('example.com', 'mod_base');
    expect(core.registry.running('example.com')).toEqual([]);
  });

  test('a throwing stop() is logged and the registrations are still removed', async () => {
    const { core, logs } = testCore({
      modules: [defineModule<Opts>({
        name: 'mod_clumsy', defaults: { level: 0 }, schema: levelSchema,
        start(_h, _o, ctx) { ctx.addHook('session_opened', () => {}); },
        stop() { throw new Error('oops'); },
      })],
    });
    await core.registry.start(config({ 'example.com': { mod_clumsy: {} } }));
    await core.registry.stop();
    expect(core.hooks.count('session_opened', 'example.com')).toBe(0);
    expect(logs.map((l) => l.what)).toEqual(['module_stop_failed']);
  });
});
