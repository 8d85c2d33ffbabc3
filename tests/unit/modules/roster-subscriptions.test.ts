// Every row of the subscription tables of RFC 6121 Appendix A, run through mod_roster:
// alice@example.com is the local user, carol@remote.example the contact. Each row sets the
// state, has one subscription stanza cross, and checks the new state and whether the stanza
// went on (routed to remote.example for outbound, delivered to alice for inbound).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { FakeSession } from '../core/fakes.ts';
import { HOST, pushes, received, rosterFixture, type Fixture } from './roster-fixture.ts';
import { STATE_NAMES, type StateName } from '../../../modules/mod_roster/subscription.ts';

const CONTACT = 'carol@remote.example';

type Row = [StateName, StateName | 'no change', boolean];

// [existing state, new state, routed?] — RFC 6121 A.2.1–A.2.4
const OUTBOUND: Record<string, Row[]> = {
  subscribe: [
    ['None', 'None + Pending Out', true],
    ['None + Pending Out', 'no change', true],
    ['None + Pending In', 'None + Pending Out/In', true],
    ['None + Pending Out/In', 'no change', true],
    ['To', 'no change', true],
    ['To + Pending In', 'no change', true],
    ['From', 'From + Pending Out', true],
    ['From + Pending Out', 'no change', true],
    ['Both', 'no change', true],
  ],
  unsubscribe: [
    ['None', 'no change', true],
    ['None + Pending Out', 'None', true],
    ['None + Pending In', 'no change', true],
    ['None + Pending Out/In', 'None + Pending In', true],
    ['To', 'None', true],
    ['To + Pending In', 'None + Pending In', true],
    ['From', 'no change', true],
    ['From + Pending Out', 'From', true],
    ['Both', 'From', true],
  ],
  subscribed: [
    ['None', 'no change', false],
    ['None + Pending Out', 'no change', false],
    ['None + Pending In', 'From', true],
    ['None + Pending Out/In', 'From + Pending Out', true],
    ['To', 'no change', false],
    ['To + Pending In', 'Both', true],
    ['From', 'no change', false],
    ['From + Pending Out', 'no change', false],
    ['Both', 'no change', false],
  ],
  unsubscribed: [
    ['None', 'no change', false],
    ['None + Pending Out', 'no change', false],
    ['None + Pending In', 'None', true],
    ['None + Pending Out/In', 'None + Pending Out', true],
    ['To', 'no change', false],
    ['To + Pending In', 'To', true],
    ['From', 'None', true],
    ['From + Pending Out', 'None + Pending Out', true],
    ['Both', 'To', true],
  ],
};

// [existing state, new state, delivered?] — RFC 6121 A.3.1–A.3.4
const INBOUND: Record<string, Row[]> = {
  subscribe: [
    ['None', 'None + Pending In', true],
    ['None + Pending Out', 'None + Pending Out/In', true],
    ['None + Pending In', 'no change', false],
    ['None + Pending Out/In', 'no change', false],
    ['To', 'To + Pending In', true],
    ['To + Pending In', 'no change', false],
    ['From', 'no change', false],
    ['From + Pending Out', 'no change', false],
    ['Both', 'no change', false],
  ],
  unsubscribe: [
    ['None', 'no change', false],
    ['None + Pending Out', 'no change', false],
    ['None + Pending In', 'None', true],
    ['None + Pending Out/In', 'None + Pending Out', true],
    ['To', 'no change', false],
    ['To + Pending In', 'To', true],
    ['From', 'None', true],
    ['From + Pending Out', 'None + Pending Out', true],
    ['Both', 'To', true],
  ],
  subscribed: [
    ['None', 'no change', false],
    ['None + Pending Out', 'To', true],
    ['None + Pending In', 'no change', false],
    ['None + Pending Out/In', 'To + Pending In', true],
    ['To', 'no change', false],
    ['To + Pending In', 'no change', false],
    ['From', 'no change', false],
    ['From + Pending Out', 'Both', true],
    ['Both', 'no change', false],
  ],
  unsubscribed: [
    ['None', 'no change', false],
    ['None + Pending Out', 'None', true],
    ['None + Pending In', 'no change', false],
    ['None + Pending Out/In', 'None + Pending In', true],
    ['To', 'None', true],
    ['To + Pending In', 'None + Pending In', true],
    ['From', 'no change', false],
    ['From + Pending Out', 'From', true],
    ['Both', 'From', true],
  ],
};

let f: Fixture;
let alice: FakeSession;

beforeEach(async () => {
  f = await rosterFixture();
  alice = f.connect('alice@example.com/phone');
  await f.settle();
  alice.sent.length = 0;
});

afterEach(async () => {
  await f.close();
});

async function setState(name: StateName): Promise<void> {
  const sub = name.split(' ')[0].toLowerCase() as 'none' | 'to' | 'from' | 'both';
  const pendingOut = name.includes('Pending Out');
  const pendingIn = name.includes('Pending In') || name.includes('Out/In');
  await f.storage.roster.put(HOST, 'alice', { jid: CONTACT, name: 'Carol', subscription: sub, ask: pendingOut, approved: false, groups: ['Friends'] });
  if (pendingIn) await f.storage.roster.setPending(HOST, 'alice', { jid: CONTACT, stanza: `<presence from='${CONTACT}' type='subscribe'/>` });
}

async function stateNow(): Promise<StateName> {
  const item = await f.storage.roster.getItem(HOST, 'alice', CONTACT);
  const pendingIn = (await f.storage.roster.getPending(HOST, 'alice', CONTACT)) !== undefined;
  const sub = item?.subscription ?? 'none';
  const out = item?.ask ?? false;
  const base = { none: 'None', to: 'To', from: 'From', both: 'Both' }[sub];
  const flags = out && pendingIn ? ' + Pending Out/In' : out ? ' + Pending Out' : pendingIn ? ' + Pending In' : '';
  return (base + flags) as StateName;
}

/** Whether the roster item (subscription and ask) differs between two states. */
function visibleChange(from: StateName, to: StateName | 'no change'): boolean {
  if (to === 'no change') return false;
  const visible = (n: StateName) => n.split(' ')[0] + (n.includes('Pending Out') ? '+ask' : '');
  return visible(from) !== visible(to);
}

test('the tables cover all nine states', () => {
  for (const rows of [...Object.values(OUTBOUND), ...Object.values(INBOUND)]) {
    expect(rows.map((r) => r[0])).toEqual([...STATE_NAMES]);
  }
});

for (const [type, rows] of Object.entries(OUTBOUND)) {
  describe(`outbound ${type} (RFC 6121 A.2)`, () => {
    for (const [from, to, routed] of rows) {
      test(`${from} → ${to}, ${routed ? 'routed' : 'not routed'}`, async () => {
        await setState(from);
        f.send(alice, `<presence to='${CONTACT}/laptop' type='${type}'/>`);
        await f.settle();
        expect(await stateNow()).toBe(to === 'no change' ? from : to);
        const out = f.remote.filter((p) => p.type === type);
        expect(out.length).toBe(routed ? 1 : 0);
        if (routed) {
          // §3.1.2: stamped with the user's bare JID, addressed to the contact's bare JID.
          expect(out[0].from.toString()).toBe('alice@example.com');
          expect(out[0].to.toString()).toBe(CONTACT);
          expect(out[0].element().attrs.from).toBe('alice@example.com');
        }
        // A change of the item is pushed to alice's interested resource ("Pending In" is not
        // part of the item); a pre-approval (§3.4) changes the item's 'approved' flag.
        const preApproval = type === 'subscribed' && !routed && !from.startsWith('From') && from !== 'Both';
        expect(received(alice, 'iq').length > 0).toBe(visibleChange(from, to) || preApproval);
        if (preApproval) expect(pushes(alice)[0].attrs.approved).toBe('true');
      });
    }
  });
}

for (const [type, rows] of Object.entries(INBOUND)) {
  describe(`inbound ${type} (RFC 6121 A.3)`, () => {
    for (const [from, to, delivered] of rows) {
      test(`${from} → ${to}, ${delivered ? 'delivered' : 'not delivered'}`, async () => {
        await setState(from);
        f.inject(`<presence from='${CONTACT}/laptop' to='alice@example.com' type='${type}'><status>hi</status></presence>`);
        await f.settle();
        expect(await stateNow()).toBe(to === 'no change' ? from : to);
        const got = received(alice, 'presence').filter((p) => p.type === type);
        expect(got.length).toBe(delivered ? 1 : 0);
        if (delivered) {
          // §3.1.3: the user sees the contact's bare JID; the status survives.
          expect(got[0].from).toBe(CONTACT);
          expect(got[0].el.getChildText('status')).toBe('hi');
        }
        const autoReplied = f.remote.some((p) => p.type === 'subscribed');
        // §3.1.3: a subscribe from someone who is already subscribed is answered by the server.
        expect(autoReplied).toBe(type === 'subscribe' && (from.startsWith('From') || from === 'Both'));
        expect(received(alice, 'iq').length > 0).toBe(visibleChange(from, to));
      });
    }
  });
}
