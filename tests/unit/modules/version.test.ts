import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { modVersion } from '../../../modules/mod_version.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const pkgVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const mods = [modVersion as ModuleDefinition<unknown>];

describe('mod_version (XEP-0092)', () => {
  test('answers with name Meerkat and the package.json version, no os by default', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const answer = await h.iq(alice, "<iq type='get' id='v1' to='example.com'><query xmlns='jabber:iq:version'/></iq>");
    expect(answer.attrs.type).toBe('result');
    const query = answer.getChild('query', 'jabber:iq:version')!;
    expect(query.getChildText('name')).toBe('Meerkat');
    expect(query.getChildText('version')).toBe(pkgVersion);
    expect(query.getChild('os')).toBeUndefined();
    expect(h.core.features.list('example.com')).toContain('jabber:iq:version');
  });

  test('reports the configured os when show_os is on', async () => {
    const h = await imHarness(mods, { modules: { mod_version: { show_os: true, os: 'Plan 9' } } });
    const alice = h.connect('alice@example.com/phone');
    const answer = await h.iq(alice, "<iq type='get' id='v2' to='example.com'><query xmlns='jabber:iq:version'/></iq>");
    expect(answer.getChild('query')!.getChildText('os')).toBe('Plan 9');
  });

  test('a set is a bad request', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const answer = await h.iq(alice, "<iq type='set' id='v3' to='example.com'><query xmlns='jabber:iq:version'/></iq>");
    expect(errorCondition(answer)).toBe('bad-request');
  });
});
