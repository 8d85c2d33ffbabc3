// Rule 4 (forwarded bytes must re-parse identically): message bodies with escaped markup,
// CDATA sections, CR LF, character references and non-ASCII arrive as exactly the text
// that was sent. The stanza bob receives is cut from his stream and re-parsed with two
// independent parsers (ltx and saxes); each must read the same body text, thread and
// child count from it as from the bytes alice sent.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { SaxesParser } from 'saxes';
import * as ltx from 'ltx';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { login } from './hostile-socket.ts';

interface Reading {
  body: string;
  thread: string;
  children: number;
}

/** Body and thread text, and the element count under <message/>, as saxes reads them. */
function readWithSaxes(xml: string): Reading {
  const parser = new SaxesParser({ xmlns: false });
  const stack: string[] = [];
  const out: Reading = { body: '', thread: '', children: 0 };
  parser.on('opentag', (t) => {
    if (stack.length === 1) out.children++;
    stack.push(t.name);
  });
  parser.on('closetag', () => { stack.pop(); });
  const onText = (text: string) => {
    const here = stack[stack.length - 1];
    if (stack.length === 2 && here === 'body') out.body += text;
    if (stack.length === 2 && here === 'thread') out.thread += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.write(xml).close();
  return out;
}

/** The part of an ltx element read here (ltx ships no type declarations). */
interface LtxElement {
  children: Array<string | LtxElement>;
  getChild(name: string): LtxElement | undefined;
}

function readWithLtx(xml: string): Reading {
  const el = ltx.parse(xml) as LtxElement;
  const text = (name: string) => (el.getChild(name)?.children ?? []).filter((c): c is string => typeof c === 'string').join('');
  return {
    body: text('body'),
    thread: text('thread'),
    children: el.children.filter((c) => typeof c !== 'string').length,
  };
}

const bodies: Array<[string, string]> = [
  ['escaped markup', '&lt;b&gt;bold&lt;/b&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt; &quot;q&quot; &apos;a&apos;'],
  ['a CDATA section with markup inside', 'before <![CDATA[<i>x</i> & </body> ]]]]><![CDATA[>]]> after'],
  ['CR LF, lone CR and CR as a reference', 'line1\r\nline2\rline3&#13;&#xD;\n'],
  ['character references and non-ASCII', '&#65;&#x1F600; caf\u00e9 \u65e5\u672c \u{1F9A6}'],
  ['a fake closing tag and a stream close as text', '&lt;/message&gt;&lt;/stream:stream&gt;&lt;message to="x"&gt;'],
];

let ts: TestServer;
beforeAll(async () => {
  ts = await startTestServer({ users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' } });
});
afterAll(() => ts.stop());

for (const [what, body] of bodies) {
  test(`${what}: bob's parsers read exactly what alice's stanza says`, async () => {
    const alice = await login(ts.tlsPort, ts.ca, 'alice', 'alice-pw', 'a');
    const bob = await login(ts.tlsPort, ts.ca, 'bob', 'bob-pw', 'b');
    const sent = `<message to='bob@localhost/b' type='chat' id='t1'><body>${body}</body><thread>th&amp;1</thread><x xmlns='urn:x'/></message>`;
    alice.send(sent);
    const received = /<message [\s\S]*?<\/message>/.exec(await bob.waitFor('</message>'))![0];
    // Each parser reads the forwarded stanza exactly as it reads the one sent (ltx is not a
    // conforming parser: it keeps CR as is, so it is compared with itself, not with saxes).
    const expected = readWithSaxes(sent);
    expect(readWithSaxes(received)).toEqual(expected);
    expect(readWithLtx(received)).toEqual(readWithLtx(sent));
    expect(expected.children).toBe(3);
    alice.close();
    bob.close();
  });
}
