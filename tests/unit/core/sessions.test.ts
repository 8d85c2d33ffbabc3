import { describe, expect, test } from 'bun:test';
import { Packet } from '../../../server/core/packet.ts';
import { FakeSession, parseXml, testCore } from './fakes.ts';
import { parseJid } from '../../../server/jid.ts';

function recordHooks(core: ReturnType<typeof testCore>['core']): string[] {
  const events: string[] = [];
  core.hooks.add('session_opened', 'example.com', ({ session }) => { events.push(`opened ${session.jid}`); });
  core.hooks.add('user_available', 'example.com', ({ session }) => { events.push(`available ${session.jid}`); });
  core.hooks.add('unset_presence', 'example.com', ({ session, status }) => { events.push(`unset ${session.jid} ${status}`); });
  core.hooks.add('sm_remove_connection', 'example.com', ({ session, reason }) => { events.push(`remove ${session.jid} ${reason}`); });
  core.hooks.add('session_closed', 'example.com', ({ session, reason }) => { events.push(`closed ${session.jid} ${reason}`); });
  return events;
}

describe('session manager', () => {
  test('many resources per user; lookup by full JID and by account', () => {
    const { core } = testCore();
    const a = new FakeSession('alice@example.com/one');
    const b = new FakeSession('alice@example.com/two');
    expect(core.sessions.open(a)).toBe('opened');
    expect(core.sessions.open(b)).toBe('opened');
    expect(core.sessions.get(parseJid('alice@example.com/two'))).toBe(b);
    expect(core.sessions.get(parseJid('alice@example.com/three'))).toBeUndefined();
    expect(core.sessions.resources(parseJid('ALICE@example.com/whatever'))).toEqual([a, b]);
    expect([core.sessions.size, core.sessions.users]).toEqual([2, 1]);
  });

  test('binding a bound resource replaces the older session with a <conflict/> stream error', () => {
    const { core } = testCore();
    const events = recordHooks(core);
    const older = new FakeSession('alice@example.com/r');
    const newer = new FakeSession('alice@example.com/r');
    core.sessions.open(older);
    expect(core.sessions.open(newer)).toBe('replaced');
    expect(older.closed).toBe(true);
    expect(older.closedWith?.condition).toBe('conflict');
    expect(core.sessions.get(parseJid('alice@example.com/r'))).toBe(newer);
    expect(core.sessions.size).toBe(1);
    // The older stream closing afterwards changes nothing.
    expect(core.sessions.remove(older)).toBe(false);
    expect(events).toEqual([
      'opened alice@example.com/r',
      'unset alice@example.com/r replaced',
      'remove alice@example.com/r replaced',
      'closed alice@example.com/r replaced',
      'opened alice@example.com/r',
    ]);
  });

  test('the resource limit refuses a new resource but still allows replacing one', () => {
    const { core } = testCore({ maxResourcesPerUser: 2 });
    core.sessions.open(new FakeSession('alice@example.com/1'));
    core.sessions.open(new FakeSession('alice@example.com/2'));
    expect(core.sessions.open(new FakeSession('alice@example.com/3'))).toBe('limit');
    expect(core.sessions.size).toBe(2);
    expect(core.sessions.open(new FakeSession('alice@example.com/2'))).toBe('replaced');
  });

  test('presence state: user_available, unset_presence once, and unset on disconnect', () => {
    const { core } = testCore();
    const events = recordHooks(core);
    const s = new FakeSession('alice@example.com/r', { available: false });
    core.sessions.open(s);
    const presence = Packet.fromElement(parseXml("<presence from='alice@example.com/r' to='alice@example.com'/>"));
    core.sessions.setAvailable(s, 7, presence);
    expect([s.available, s.priority]).toEqual([true, 7]);
    core.sessions.setUnavailable(s, 'bye');
    core.sessions.setUnavailable(s, 'again');
    core.sessions.setAvailable(s, 1, presence);
    core.sessions.remove(s, 'closed');
    expect(events).toEqual([
      'opened alice@example.com/r',
      'available alice@example.com/r',
      'unset alice@example.com/r bye',
      'available alice@example.com/r',
      'unset alice@example.com/r closed',
      'remove alice@example.com/r closed',
      'closed alice@example.com/r closed',
    ]);
    expect([core.sessions.size, core.sessions.users]).toEqual([0, 0]);
  });

  test('a session closing itself during delivery does not make the loop skip the next one', () => {
    const { core } = testCore();
    const first = new FakeSession('bob@example.com/a');
    const second = new FakeSession('bob@example.com/b');
    const third = new FakeSession('bob@example.com/c');
    first.send = (p) => { FakeSession.prototype.send.call(first, p); core.sessions.remove(first); };
    for (const s of [first, second, third]) core.sessions.open(s);
    core.router.route(Packet.fromElement(parseXml("<message from='example.com' to='bob@example.com' type='headline'/>")));
    expect([first.sent.length, second.sent.length, third.sent.length]).toEqual([1, 1, 1]);
    expect(core.sessions.resources(parseJid('bob@example.com'))).toEqual([second, third]);
  });
});
