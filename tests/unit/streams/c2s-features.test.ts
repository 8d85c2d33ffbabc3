// The module part of <stream:features/> is built once per host and state and kept while
// nothing is registered or unregistered: a second stream gets the same bytes without the
// hook running, and a module stopped or a disco feature added shows at the next stream.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { createMechanismRegistry } from '../../../server/auth/sasl/registry.ts';
import { createC2sEnv } from '../../../server/streams/c2s-wiring.ts';
import type { C2sEnv } from '../../../server/streams/c2s-env.ts';
import { modDisco, serverCaps } from '../../../modules/mod_disco.ts';
import { modCsi } from '../../../modules/mod_csi.ts';
import { Element } from '../../../server/xml/element.ts';
import { DEFAULT_LIMITS, PREAUTH_LIMITS } from '../../../parser-wasm/host/limits.ts';
import { HOST, rosterFixture, type Fixture } from '../modules/roster-fixture.ts';

let f: Fixture;
let env: C2sEnv;

beforeEach(async () => {
  f = await rosterFixture({
    definitions: [modDisco as ModuleDefinition<unknown>, modCsi as ModuleDefinition<unknown>],
    modules: { mod_roster: {}, mod_disco: {}, mod_csi: {} },
  });
  env = createC2sEnv({
    core: f.core,
    storage: f.storage,
    sasl: createMechanismRegistry(),
    serverSecret: new Uint8Array(32),
    scramIterations: 4096,
    tls: undefined,
    tlsRequired: false,
    limits: { preauth: PREAUTH_LIMITS, authenticated: DEFAULT_LIMITS, preauthTimeoutMs: 1000, maxOutboundBytes: 1 << 20, maxAuthFailures: 3 },
    defaultHost: HOST,
    log: f.core.logger,
    metrics: f.core.metrics,
    transportName: 'tcp',
  });
});

afterEach(async () => {
  await f.close();
});

/** What the hook gives when run now (what every stream got before features were kept). */
function fresh(authenticated: boolean): string {
  const features: Element[] = [];
  f.core.hooks.run('c2s_stream_features', HOST, { host: HOST, authenticated, features });
  return features.map((e) => e.toString()).join('');
}

test('the same bytes as running the hook, per state, and the hook runs once per state', () => {
  let runs = 0;
  f.core.hooks.add('c2s_stream_features', HOST, () => {
    runs++;
  });
  const before = fresh(false);
  const after = fresh(true);
  runs = 0;
  for (let i = 0; i < 3; i++) {
    expect(env.streamFeatures!(HOST, false)).toBe(before);
    expect(env.streamFeatures!(HOST, true)).toBe(after);
  }
  expect(runs).toBe(2);
  expect(after).toContain(`ver='${serverCaps(f.core.hooks, HOST)!.ver}'`);
  expect(after).toContain("<csi xmlns='urn:xmpp:csi:0'/>");
  expect(before).not.toContain('<csi');
});

test('a module stopped is gone from the next features', async () => {
  expect(env.streamFeatures!(HOST, true)).toContain('<csi');
  await f.core.registry.stopModule(HOST, 'mod_csi');
  const now = env.streamFeatures!(HOST, true);
  expect(now).not.toContain('<csi');
  expect(now).toBe(fresh(true));
});

test('a disco feature added changes the caps hash in the next features', () => {
  const ver = serverCaps(f.core.hooks, HOST)!.ver;
  expect(env.streamFeatures!(HOST, true)).toContain(`ver='${ver}'`);
  const remove = f.core.features.add(HOST, 'urn:example:new-feature');
  const changed = serverCaps(f.core.hooks, HOST)!.ver;
  expect(changed).not.toBe(ver);
  expect(env.streamFeatures!(HOST, true)).toContain(`ver='${changed}'`);
  remove();
  expect(env.streamFeatures!(HOST, true)).toContain(`ver='${ver}'`);
});
