// Routing-table keys cannot be broken or collided by what users put in JIDs, and link
// frames survive any split of the byte stream.

import { expect, test } from 'bun:test';
import { bareKey, decodePart, fullKey } from '../../../modules/mod_global_distrib/keys.ts';
import { encodeAck, encodeData, encodeHello, FrameDecoder, FrameError, FRAME_DATA, MAX_FRAME } from '../../../modules/mod_global_distrib/frame.ts';
import { slotFor } from '../../../modules/mod_global_distrib/outbound.ts';

test('resources with key syntax in them give distinct keys in the bare JID\'s hash slot', () => {
  const bare = 'alice@example.com';
  const resources = ['a:b', 'a', 'a:b:c', '{x}', '*', 'line\nbreak', '#1', 'f:', ':'];
  const keys = resources.map((r) => fullKey(bare, r));
  expect(new Set(keys).size).toBe(resources.length);
  for (const k of keys) {
    expect(k).not.toMatch(/[\n*#]/);
    // Exactly one hash tag, and it is the bare JID's.
    expect(k.match(/\{[^}]*\}/g)).toEqual([bareKey(bare).match(/\{[^}]*\}/)![0]]);
  }
  // 'a' + ':b' as resource text cannot be confused with a key part boundary.
  expect(fullKey('alice@example.com', 'x:f:y')).not.toBe(fullKey('alice@example.com', 'x') + ':f:y');
  const encoded = fullKey(bare, 'a:b').split(':').pop()!;
  expect(decodePart(encoded)).toBe('a:b');
});

test('a DATA frame carries the stanza bytes, ttl, seq, origin and addresses unchanged, however it is split', () => {
  const stanza = new TextEncoder().encode("<message to='bob@x/r' type='chat'><body>é ✓</body></message>");
  const frames = [
    encodeHello('dc1', 'boot-1', 3),
    encodeData(7, 4, 'dc1', 'alice@x/a:b', 'bob@x/r', [stanza.subarray(0, 10), stanza.subarray(10)]),
    encodeAck(7),
  ];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let p = 0;
  for (const f of frames) {
    all.set(f, p);
    p += f.length;
  }
  for (const step of [1, 3, 17, all.length]) {
    const decoder = new FrameDecoder();
    const got = [];
    for (let i = 0; i < all.length; i += step) got.push(...decoder.push(all.slice(i, i + step)));
    expect(got.length).toBe(3);
    expect(got[0]).toEqual({ type: 1, version: 1, origin: 'dc1', boot: 'boot-1', slot: 3 });
    const data = got[1]!;
    if (data.type !== FRAME_DATA) throw new Error('expected DATA');
    expect([data.seq, data.ttl, data.origin, data.from, data.to]).toEqual([7, 4, 'dc1', 'alice@x/a:b', 'bob@x/r']);
    expect(data.stanza).toEqual(stanza);
    expect(got[2]).toEqual({ type: 3, seq: 7 });
    expect(decoder.buffered).toBe(0);
  }
});

test('oversized, unknown and truncated frames are refused', () => {
  const huge = new Uint8Array(4);
  new DataView(huge.buffer).setUint32(0, MAX_FRAME + 1);
  expect(() => new FrameDecoder().push(huge)).toThrow(FrameError);
  expect(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 1, 9]))).toThrow(FrameError);
  // A DATA frame that claims a longer 'from' than it has.
  expect(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 9, 2, 0, 0, 0, 1, 4, 0, 0, 9]))).toThrow(FrameError);
  expect(() => encodeData(1, 4, 'dc1', 'a@x', 'b@x', 'x'.repeat(MAX_FRAME))).toThrow(FrameError);
});

test('one (from, to) pair always takes the same slot, and pairs spread over slots', () => {
  expect(slotFor('a@x/1', 'b@x', 4)).toBe(slotFor('a@x/1', 'b@x', 4));
  const used = new Set<number>();
  for (let i = 0; i < 64; i++) used.add(slotFor(`u${i}@x/r`, 'b@x', 4));
  expect(used.size).toBe(4);
  expect(slotFor('a', 'b', 1)).toBe(0);
});
