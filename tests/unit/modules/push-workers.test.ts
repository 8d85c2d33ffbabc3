// mod_event_pusher on one worker of a node: push registrations enabled or disabled through
// another worker reach this one's cached copy with the 'push_registrations_changed' notice,
// and a change made here is announced to the others.

import { expect, test } from 'bun:test';
import { parseJid } from '../../../server/jid.ts';
import { APP, chat, enableIq, HOST, pushHarness } from './push-harness.ts';

const ALICE = parseJid('alice@example.com');

test('registrations removed through another worker are read again here after its notice', async () => {
  const h = await pushHarness();
  const announced: string[] = [];
  h.core.notices.setTransport((host, topic, data) => announced.push(`${host} ${topic} ${data}`));
  const phone = h.connect('alice@example.com/phone');
  expect((await h.iq(phone, enableIq('e1', APP, 'node1'))).attrs.type).toBe('result');
  expect(announced).toEqual(['example.com push_registrations_changed alice@example.com']);
  expect(await h.state.push!.registrations(ALICE)).toHaveLength(1);
  h.core.sessions.remove(phone);

  // Another worker disabled it: the rows are gone from the shared store, this cache still has them.
  for (const e of await h.storage.kv.list(HOST, 'alice', 'push')) await h.storage.kv.delete(HOST, 'alice', 'push', e.key);
  h.core.notices.receive(HOST, 'push_registrations_changed', 'alice@example.com');
  h.inject(chat('anyone?'));
  await h.idle();
  expect(h.app.publishes).toEqual([]);
});
