import { describe, expect, test } from 'bun:test';
import { modPrivate } from '../../../modules/mod_private.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const mods = [modPrivate as ModuleDefinition<unknown>];

describe('mod_private (XEP-0049)', () => {
  test('store and retrieve per namespace', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const set = await h.iq(alice, "<iq type='set' id='x1'><query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus><storage xmlns='storage:bookmarks'><conference jid='council@conference.example.com'/></storage></query></iq>");
    expect(set.attrs.type).toBe('result');
    const got = await h.iq(alice, "<iq type='get' id='x2'><query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'/></query></iq>");
    const exodus = got.getChild('query', 'jabber:iq:private')!.getChild('exodus', 'exodus:prefs')!;
    expect(exodus.getChildText('defaultnick')).toBe('Hamlet');
    const bookmarks = await h.iq(alice, "<iq type='get' id='x3'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>");
    expect(bookmarks.getChild('query')!.getChild('storage', 'storage:bookmarks')!.getChild('conference')!.attrs.jid).toBe('council@conference.example.com');
  });

  test('nothing stored: the empty element comes back', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const got = await h.iq(alice, "<iq type='get' id='x4'><query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query></iq>");
    expect(got.attrs.type).toBe('result');
    const prefs = got.getChild('query')!.getChild('prefs', 'urn:example:prefs')!;
    expect(prefs.children.length).toBe(0);
  });

  test('jabber:* namespaces and empty queries are not-acceptable', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const reserved = await h.iq(alice, "<iq type='set' id='x5'><query xmlns='jabber:iq:private'><roster xmlns='jabber:iq:roster'/></query></iq>");
    expect(errorCondition(reserved)).toBe('not-acceptable');
    const empty = await h.iq(alice, "<iq type='get' id='x6'><query xmlns='jabber:iq:private'/></iq>");
    expect(errorCondition(empty)).toBe('not-acceptable');
    const two = await h.iq(alice, "<iq type='get' id='x7'><query xmlns='jabber:iq:private'><a xmlns='urn:a'/><b xmlns='urn:b'/></query></iq>");
    expect(errorCondition(two)).toBe('not-acceptable');
  });

  test('another user\'s storage is forbidden', async () => {
    const h = await imHarness(mods);
    const alice = h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    await h.iq(alice, "<iq type='set' id='x8'><query xmlns='jabber:iq:private'><secret xmlns='urn:example:secret'>42</secret></query></iq>");
    const peek = await h.iq(bob, "<iq type='get' id='x9' to='alice@example.com'><query xmlns='jabber:iq:private'><secret xmlns='urn:example:secret'/></query></iq>");
    expect(errorCondition(peek)).toBe('forbidden');
    expect(peek.toString()).not.toContain('42');
    const write = await h.iq(bob, "<iq type='set' id='x10' to='alice@example.com'><query xmlns='jabber:iq:private'><secret xmlns='urn:example:secret'>0</secret></query></iq>");
    expect(errorCondition(write)).toBe('forbidden');
    expect(await h.storage.kv.get('example.com', 'alice', 'mod_private', 'urn:example:secret')).toContain('42');
  });
});
