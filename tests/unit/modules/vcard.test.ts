import { describe, expect, test } from 'bun:test';
import { modVcard } from '../../../modules/mod_vcard.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const mods = [modVcard as ModuleDefinition<unknown>];

describe('mod_vcard (XEP-0054)', () => {
  test('set then get one\'s own vCard, and another user reads it', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const set = await h.iq(alice, "<iq type='set' id='c1'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>al &amp; co</NICKNAME></vCard></iq>");
    expect(set.attrs.type).toBe('result');
    const got = await h.iq(alice, "<iq type='get' id='c2'><vCard xmlns='vcard-temp'/></iq>");
    expect(got.getChild('vCard', 'vcard-temp')!.getChildText('FN')).toBe('Alice Liddell');
    const bob = h.connect('bob@example.com/a');
    const other = await h.iq(bob, "<iq type='get' id='c3' to='alice@example.com'><vCard xmlns='vcard-temp'/></iq>");
    expect(other.attrs.type).toBe('result');
    expect(other.getChild('vCard', 'vcard-temp')!.getChildText('NICKNAME')).toBe('al & co');
  });

  test('no vCard: an empty one for oneself, an error for others, the same error as for no account', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const own = await h.iq(alice, "<iq type='get' id='c4'><vCard xmlns='vcard-temp'/></iq>");
    expect(own.attrs.type).toBe('result');
    expect(own.getChild('vCard', 'vcard-temp')!.children.length).toBe(0);
    const other = await h.iq(alice, "<iq type='get' id='c5' to='bob@example.com'><vCard xmlns='vcard-temp'/></iq>");
    const nobody = await h.iq(alice, "<iq type='get' id='c6' to='nobody@example.com'><vCard xmlns='vcard-temp'/></iq>");
    expect(errorCondition(other)).toBe('service-unavailable');
    expect(errorCondition(nobody)).toBe('service-unavailable');
  });

  test('setting someone else\'s vCard is forbidden', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const answer = await h.iq(alice, "<iq type='set' id='c7' to='bob@example.com'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>");
    expect(errorCondition(answer)).toBe('forbidden');
    expect(await h.storage.kv.get('example.com', 'bob', 'mod_vcard', 'vcard')).toBeUndefined();
  });

  test('a vCard over max_size is refused with not-acceptable and nothing is stored', async () => {
    const h = await imHarness(mods, { modules: { mod_vcard: { max_size: 200 } } });
    const alice = h.connect('alice@example.com/phone');
    const answer = await h.iq(alice, `<iq type='set' id='c8'><vCard xmlns='vcard-temp'><DESC>${'x'.repeat(300)}</DESC></vCard></iq>`);
    expect(errorCondition(answer)).toBe('not-acceptable');
    expect(await h.storage.kv.get('example.com', 'alice', 'mod_vcard', 'vcard')).toBeUndefined();
  });
});
