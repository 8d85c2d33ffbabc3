// Memory per idle stream: 10,000 streams on one tokenizer instance, each has received a
// stream header and a few stanzas and is now waiting (no partial stanza). Reports the
// growth of WASM linear memory divided by the number of streams.
// Run: bun parser-wasm/bench/memory.ts   (or deno run --allow-read parser-wasm/bench/memory.ts)

import { XmlStream, createTokenizer } from '../host/index.ts';

const STREAMS = 10_000;
const encoder = new TextEncoder();
const header = encoder.encode("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>");
const stanzas = encoder.encode("<message to='bob@example.com' type='chat' id='1'><body>hello there</body></message><presence/> ");
const partial = encoder.encode("<message to='bob@example.com'><body>half a sta");

const handlers = { onStreamOpen() {}, onStanza() {}, onStreamClose() {}, onError() { throw new Error('unexpected error'); } };

function measure(label: string, extra?: Uint8Array): number {
  const instance = createTokenizer();
  const before = instance.memory.buffer.byteLength;
  const streams: XmlStream[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const s = new XmlStream(handlers, {}, instance);
    s.feed(header);
    s.feed(stanzas);
    if (extra) s.feed(extra);
    streams.push(s);
  }
  const perStream = (instance.memory.buffer.byteLength - before) / STREAMS;
  console.log(`${label}: ${perStream.toFixed(0)} bytes of WASM memory per stream (${STREAMS} streams)`);
  for (const s of streams) s.free();
  return perStream;
}

measure('idle (header + stanzas received, nothing pending)');
measure('holding a partial stanza', partial);
