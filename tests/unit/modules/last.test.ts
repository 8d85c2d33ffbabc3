import { describe, expect, test } from 'bun:test';
import { modLast } from '../../../modules/mod_last.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { xml } from '../../../server/xml/element.ts';
import { errorCondition, imHarness } from './im-harness.ts';

const mods = [modLast as ModuleDefinition<unknown>];

/** A stand-in roster: bob is subscribed to alice's presence. */
async function harnessWithRoster() {
  const h = await imHarness(mods);
  h.core.hooks.add('roster_get', 'example.com', ({ jid, items }) => {
    if (jid.local === 'alice') items.push(xml('item', { jid: 'bob@example.com', subscription: 'from' }), xml('item', { jid: 'carol@example.com', subscription: 'to' }));
  });
  return h;
}

describe('mod_last (XEP-0012)', () => {
  test('the server answers with its uptime', async () => {
    const h = await imHarness(mods);
    const bob = h.connect('bob@example.com/a');
    const answer = await h.iq(bob, "<iq type='get' id='l1' to='example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(answer.attrs.type).toBe('result');
    const seconds = Number(answer.getChild('query', 'jabber:iq:last')!.attrs.seconds);
    expect(Number.isInteger(seconds) && seconds >= 0).toBe(true);
  });

  test('an online user is 0 seconds idle for a subscriber', async () => {
    const h = await harnessWithRoster();
    h.connect('alice@example.com/phone');
    const bob = h.connect('bob@example.com/a');
    const answer = await h.iq(bob, "<iq type='get' id='l2' to='alice@example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(answer.getChild('query')!.attrs.seconds).toBe('0');
  });

  test('after logout a subscriber gets the time since and the last status', async () => {
    const h = await harnessWithRoster();
    const alice = h.connect('alice@example.com/phone');
    h.send(alice, "<presence type='unavailable'><status>Gone fishing</status></presence>");
    h.core.sessions.remove(alice);
    await h.settle();
    const bob = h.connect('bob@example.com/a');
    const answer = await h.iq(bob, "<iq type='get' id='l3' to='alice@example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(answer.attrs.type).toBe('result');
    const query = answer.getChild('query')!;
    expect(Number(query.attrs.seconds)).toBeGreaterThanOrEqual(0);
    expect(query.text).toBe('Gone fishing');
    expect(await h.storage.kv.get('example.com', 'alice', 'mod_last', 'logout')).toContain('Gone fishing');
  });

  test('a session closed without presence also records a logout', async () => {
    const h = await harnessWithRoster();
    const alice = h.connect('alice@example.com/phone', { available: false });
    h.core.sessions.remove(alice);
    await h.settle();
    expect(await h.storage.kv.get('example.com', 'alice', 'mod_last', 'logout')).toBeDefined();
  });

  test('a user may ask about themself; someone without a subscription is forbidden', async () => {
    const h = await harnessWithRoster();
    const alice = h.connect('alice@example.com/phone');
    const carol = h.connect('carol@example.com/a');
    const own = await h.iq(alice, "<iq type='get' id='l4' to='alice@example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(own.getChild('query')!.attrs.seconds).toBe('0');
    const denied = await h.iq(carol, "<iq type='get' id='l5' to='alice@example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(errorCondition(denied)).toBe('forbidden');
  });

  test('a user who never logged out has nothing to report', async () => {
    const h = await harnessWithRoster();
    const bob = h.connect('bob@example.com/a');
    const answer = await h.iq(bob, "<iq type='get' id='l6' to='alice@example.com'><query xmlns='jabber:iq:last'/></iq>");
    expect(errorCondition(answer)).toBe('item-not-found');
  });
});
