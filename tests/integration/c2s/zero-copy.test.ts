// A routed stanza keeps its original bytes: entities, character references, CDATA,
// CJK and emoji, and a prefix declared on the sender's stream header all arrive exactly
// as sent, with only the addresses set in the start tag and the header's declarations
// carried onto it — and the result re-parses to the same tree.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import * as ltx from 'ltx';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { authPlain, bind, connectTls, header, login, type Wire } from './wire.ts';

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' } });
});
afterAll(async () => {
  await ts.stop();
});

const BODY = `<body>a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos; &#x1F600;&#233; <![CDATA[<not> & markup]]> 漢字かな 😀👩‍👩‍👧</body>` +
  `<x:data x:attr='1 &amp; 2' xmlns:y='urn:example:inner'><y:leaf>葉</y:leaf>custom</x:data>`;
const MESSAGE = `<message to='bob@localhost/desk' id='zc1' type='chat'>${BODY}</message>`;

// ltx ships no types: the shape of what it parses.
interface LtxNode {
  name: string;
  attrs: Record<string, string>;
  children: Array<LtxNode | string>;
}

const parseLtx = (xml: string): LtxNode => ltx.parse(xml) as unknown as LtxNode;

/** A canonical form of an ltx tree: name, attributes sorted, children, text joined. */
function tree(el: LtxNode): unknown {
  const attrs = Object.entries(el.attrs).sort(([a], [b]) => (a < b ? -1 : 1));
  const children: unknown[] = [];
  let text = '';
  for (const c of el.children) {
    if (typeof c === 'string') text += c;
    else {
      if (text) children.push(text);
      text = '';
      children.push(tree(c));
    }
  }
  if (text) children.push(text);
  return [el.name, attrs, children];
}

async function aliceWithCustomPrefix(): Promise<Wire> {
  const { wire } = await connectTls(ts);
  await authPlain(wire, 'alice', 'alice-pw');
  wire.clear();
  wire.send(header('localhost', ` xmlns:x='urn:example:custom' xml:lang='de'`));
  await wire.waitFor('</stream:features>');
  await bind(wire, 'zc');
  return wire;
}

function startTagEnd(bytes: Buffer): number {
  // No attribute value in these messages contains '>'.
  return bytes.indexOf('>') + 1;
}

test('everything after the start tag arrives byte for byte; the start tag gains only addresses and inherited declarations', async () => {
  const bob = await login(ts, 'bob', 'bob-pw', 'desk');
  const alice = await aliceWithCustomPrefix();
  const sent = Buffer.from(MESSAGE, 'utf8');
  // Split inside a multi-byte character, in two TLS records.
  const cut = sent.indexOf(Buffer.from('漢')) + 1;
  alice.send(sent.subarray(0, cut));
  await new Promise((r) => setTimeout(r, 20));
  alice.send(sent.subarray(cut));
  await bob.wire.waitFor('</message>');
  const received = bob.wire.raw;

  expect(received.subarray(startTagEnd(received)).equals(sent.subarray(startTagEnd(sent)))).toBe(true);

  const startTag = received.subarray(0, startTagEnd(received)).toString('utf8');
  const attrs = [...startTag.matchAll(/ ([a-z:]+)='([^']*)'/g)].map((m) => `${m[1]}=${m[2]}`).sort();
  expect(attrs).toEqual([
    'from=alice@localhost/zc', 'id=zc1', 'to=bob@localhost/desk', 'type=chat',
    'xml:lang=de', 'xmlns:x=urn:example:custom', 'xmlns=jabber:client',
  ].sort());

  // Re-parses to the tree the sender meant (its stream header's declarations applied).
  // (ltx drops text that follows a CDATA section; both sides go through the same parser.)
  const meant = parseLtx(MESSAGE.replace('<message ', `<message xmlns='jabber:client' xmlns:x='urn:example:custom' xml:lang='de' from='alice@localhost/zc' `));
  expect(tree(parseLtx(received.toString('utf8')))).toEqual(tree(meant));
  const body = parseLtx(received.toString('utf8')).children[0] as LtxNode;
  expect(body.name).toBe('body');
  expect(body.children[0]).toBe(`a & b <c> "q" 's' 😀é `);

  alice.close();
  bob.wire.close();
});

test('a spoofed-looking from inside the content is not touched, the real one is set', async () => {
  const bob = await login(ts, 'bob', 'bob-pw', 'desk2');
  const alice = await aliceWithCustomPrefix();
  const msg = `<message to='bob@localhost/desk2' id='zc2'><body from='mallory@localhost'>x</body></message>`;
  alice.send(msg);
  await bob.wire.waitFor('</message>');
  const received = bob.wire.text;
  expect(received).toContain(`<body from='mallory@localhost'>x</body>`);
  expect(parseLtx(received).attrs.from).toBe('alice@localhost/zc');
  alice.close();
  bob.wire.close();
});

test('a stanza sent with a from of its own (the bare JID) arrives with the full JID instead, once', async () => {
  const bob = await login(ts, 'bob', 'bob-pw', 'desk3');
  const alice = await aliceWithCustomPrefix();
  alice.send(`<message from='alice@localhost' to='bob@localhost/desk3' id='zc3'><body>y</body></message>`);
  await bob.wire.waitFor('</message>');
  const startTag = bob.wire.text.slice(0, bob.wire.text.indexOf('>'));
  expect(startTag.match(/ from=/g)?.length).toBe(1);
  expect(startTag).toContain(`from='alice@localhost/zc'`);
  alice.close();
  bob.wire.close();
});
