// Worker link framing and the directory of other workers' sessions, without sockets; and the
// router's user_not_connected hook in a single process.

import { expect, test } from 'bun:test';
import { decodeFrame, encodeAudience, encodeControl, encodeStanza, FrameReader, FRAME_AUDIENCE, FRAME_STANZA, FRAME_UP, MAX_FRAME_BYTES } from '../../../server/cluster/frames.ts';
import { WorkerDirectory } from '../../../server/cluster/directory.ts';
import { RawStanzaView } from '../../../server/cluster/raw-stanza.ts';
import { STOP } from '../../../server/core/hooks.ts';
import { parseJid } from '../../../server/jid.ts';
import { FakeSession, packet, testCore } from '../../unit/core/fakes.ts';

const enc = new TextEncoder();

test('a stanza frame carries hops, addresses, type and id beside the bytes, split anywhere on the way', () => {
  const bytes = "<message from='a@x/r' to='b@x' type='chat'><body>é</body></message>";
  const frame = encodeStanza({ hops: 3, copy: 'sole', kind: 'message', target: 'b@x/phone', from: 'a@x/r', to: 'b@x', stanzaType: 'chat', id: undefined }, [enc.encode(bytes.slice(0, 10)), enc.encode(bytes.slice(10))]);
  const up = encodeControl({ type: FRAME_UP, jid: 'b@x/phone', priority: -3, available: true, since: 42 });
  const stream = new Uint8Array([...frame, ...up]);
  const reader = new FrameReader();
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += 7) reader.push(stream.slice(i, i + 7), (b) => bodies.push(b.slice()));
  expect(bodies).toHaveLength(2);
  const s = decodeFrame(bodies[0]);
  if (s.type !== FRAME_STANZA) throw new Error('not a stanza frame');
  expect({ hops: s.hops, copy: s.copy, kind: s.kind, target: s.target, from: s.from, to: s.to, type: s.stanzaType, id: s.id })
    .toEqual({ hops: 3, copy: 'sole', kind: 'message', target: 'b@x/phone', from: 'a@x/r', to: 'b@x', type: 'chat', id: undefined });
  expect(new TextDecoder().decode(s.bytes)).toBe(bytes);
  expect(decodeFrame(bodies[1])).toEqual({ type: FRAME_UP, jid: 'b@x/phone', priority: -3, available: true, since: 42 });
});

test('a stanza frame says which copy it is: sole, first of several, or a later one', () => {
  for (const copy of ['sole', 'first', 'later'] as const) {
    const frame = encodeStanza({ hops: 0, copy, kind: 'message', target: 'b@x/r', from: 'a@x/r', to: 'b@x', stanzaType: undefined, id: undefined }, '<message/>');
    const s = decodeFrame(frame.subarray(4));
    if (s.type !== FRAME_STANZA) throw new Error('not a stanza frame');
    expect(s.copy).toBe(copy);
  }
});

test('an audience frame carries the account, the audience name and the sessions left out', () => {
  const bytes = "<iq from='b@x' to='b@x' type='set' id='push-1'><query xmlns='jabber:iq:roster'/></iq>";
  const frame = encodeAudience({ hops: 2, kind: 'iq', user: 'b@x', audience: 'roster_interested', from: 'b@x', to: 'b@x', stanzaType: 'set', id: 'push-1', except: ['b@x/desk', 'b@x/é'], keepTo: false }, bytes);
  const reader = new FrameReader();
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < frame.length; i += 5) reader.push(frame.slice(i, i + 5), (b) => bodies.push(b.slice()));
  const a = decodeFrame(bodies[0]);
  if (a.type !== FRAME_AUDIENCE) throw new Error('not an audience frame');
  const { bytes: body, ...header } = a;
  expect(header).toEqual({ type: FRAME_AUDIENCE, hops: 2, kind: 'iq', user: 'b@x', audience: 'roster_interested', from: 'b@x', to: 'b@x', stanzaType: 'set', id: 'push-1', except: ['b@x/desk', 'b@x/é'], keepTo: false });
  expect(new TextDecoder().decode(body)).toBe(bytes);
  // Cut short inside the list of sessions left out: refused.
  expect(() => decodeFrame(bodies[0].subarray(0, bodies[0].length - bytes.length - 3))).toThrow();
});

test('a frame longer than the limit or of an unknown type is refused', () => {
  const reader = new FrameReader();
  const big = new Uint8Array(4);
  new DataView(big.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  expect(() => reader.push(big, () => {})).toThrow();
  expect(() => decodeFrame(new Uint8Array([99, 1, 2]))).toThrow();
  expect(() => decodeFrame(new Uint8Array([FRAME_STANZA, 0, 0, 0, 0xff]))).toThrow();
});

test('a forwarded stanza parses only when something reads it, and re-splices for another recipient', () => {
  const raw = enc.encode("<message from='a@x/r' to='b@x' type='chat' id='7'><body>hi</body></message>");
  const view = new RawStanzaView('message', raw, { from: 'a@x/r', to: 'b@x', type: 'chat', id: '7' });
  expect(view.attr('type')).toBe('chat');
  expect(view.spliceAttributes({ from: 'a@x/r', to: 'b@x' })).toEqual([raw]);
  const moved = view.spliceAttributes({ from: 'b@x', to: 'b@x/desk' }).map((p) => new TextDecoder().decode(p)).join('');
  expect(moved).toContain("to='b@x/desk'");
  expect(moved).toContain('<body>hi</body>');
  expect(view.toElement().getChildText('body')).toBe('hi');
  expect(view.ns).toBe('jabber:client');
});

test('the directory drops a worker whole and keeps its bounds', () => {
  const d = new WorkerDirectory({ maxResourcesPerUser: 2, maxEntriesPerWorker: 3 });
  expect(d.up(1, 'bob@x/a', 0, true, 1)).toBe(true);
  expect(d.up(1, 'bob@x/b', 5, true, 1)).toBe(true);
  expect(d.up(1, 'bob@x/c', 0, true, 1)).toBe(false); // third resource of one account on one worker
  expect(d.up(1, 'bob@x/a', 7, false, 1)).toBe(true); // an update is not a new entry
  expect(d.up(2, 'bob@x/c', 0, true, 1)).toBe(true);
  expect(d.up(1, 'carol@x/a', 0, true, 1)).toBe(true);
  expect(d.up(1, 'dave@x/a', 0, true, 1)).toBe(false); // worker 1 is at its total
  expect(d.up(1, 'not a jid@@', 0, true, 1)).toBe(false);
  expect(d.resources(parseJid('bob@x')).map((e) => `${e.jid}:${e.priority}:${e.available}`)).toEqual(['bob@x/a:7:false', 'bob@x/b:5:true', 'bob@x/c:0:true']);
  expect(d.dropWorker(1)).toBe(3);
  expect(d.resources(parseJid('bob@x')).map((e) => e.jid.toString())).toEqual(['bob@x/c']);
  expect(d.get(parseJid('carol@x/a'))).toBeUndefined();
  d.down(2, 'bob@x/c');
  expect(d.resources(parseJid('bob@x'))).toHaveLength(0);
});

test('user_not_connected runs before the offline/unknown-user rules and may take the stanza (one process)', () => {
  const { core } = testCore({ hosts: ['example.com'], userExists: (bare) => bare.local !== 'nobody' });
  const alice = new FakeSession('alice@example.com/r');
  const bob = new FakeSession('bob@example.com/desk');
  core.sessions.open(alice);
  core.sessions.open(bob);
  const taken: string[] = [];
  const stored: string[] = [];
  core.hooks.add('user_not_connected', 'example.com', ({ packet: p, to }) => {
    taken.push(to.toString());
    return p.id === 'keep' ? STOP : undefined;
  });
  core.hooks.add('offline_message', 'example.com', ({ to }) => {
    stored.push(to.toString());
    return STOP;
  });
  const send = (to: string, id: string) => core.router.route(packet(`<message from='alice@example.com/r' to='${to}' type='chat' id='${id}'><body>x</body></message>`));
  send('bob@example.com/desk', 'a'); // connected: no hook
  send('bob@example.com', 'b'); // a resource is connected: no hook
  send('bob@example.com/phone', 'c'); // that resource is not: hook, then §8.5.3.2.1 → bare → desk
  send('carol@example.com', 'keep'); // taken by the hook: nothing else happens
  send('carol@example.com', 'd'); // not taken: stored offline
  send('nobody@example.com', 'e'); // not taken: unknown user → error
  expect(taken).toEqual(['bob@example.com/phone', 'carol@example.com', 'carol@example.com', 'nobody@example.com']);
  expect(bob.sent.map((p) => p.id)).toEqual(['a', 'b', 'c']);
  expect(stored).toEqual(['carol@example.com']);
  expect(alice.sent.map((p) => `${p.id}:${p.type}`)).toEqual(['e:error']);
});
