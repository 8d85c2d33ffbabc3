// The zero-copy path against the real tokenizer: a stanza parsed from a stream is routed
// and written as its original bytes with the addresses spliced in.

import { expect, test } from 'bun:test';
import { XmlStream } from '../../../parser-wasm/host/stream.ts';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid } from '../../../server/jid.ts';
import { FakeSession, normalized, testCore } from './fakes.ts';

test('a stanza from the tokenizer is delivered as its original bytes with the addresses spliced in', () => {
  const { core } = testCore();
  const bob = new FakeSession('bob@example.com/desk');
  core.sessions.open(bob);
  const alice = parseJid('alice@example.com/r');
  let zeroCopy: boolean | undefined;
  const stream = new XmlStream({
    onStreamOpen() {},
    onStanza(view) {
      const packet = Packet.fromView(view, alice, parseJid(view.attr('to')!));
      zeroCopy = packet.zeroCopy;
      core.router.route(packet);
    },
    onStreamClose() {},
    onError(err) { throw new Error(err.message); },
  });
  stream.feed(new TextEncoder().encode(
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>" +
    "<message to='bob@example.com' type='chat' id='z1'><body>caf&#233; &amp; more</body></message>",
  ));
  expect(zeroCopy).toBe(true);
  expect(bob.wire).toHaveLength(1);
  // The body is byte-for-byte what alice sent (the character reference was not re-encoded);
  // only the start tag changed: from added, the stream's default namespace re-declared.
  expect(bob.wire[0]).toContain('<body>caf&#233; &amp; more</body>');
  expect(normalized(bob.wire[0])).toBe(normalized(
    "<message from='alice@example.com/r' id='z1' to='bob@example.com' type='chat' xmlns='jabber:client'><body>caf&#233; &amp; more</body></message>",
  ));
});
