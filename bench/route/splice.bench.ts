// Zero-copy forwarding against serializing, on the router's real code path: chat stanzas
// go through the tokenizer (XmlStream), and for each the outgoing bytes are produced
//   splice:     Packet.fromView(view, from, to).bytesFor({ from, to })  — original bytes, from/to spliced in
//   serialize:  view.toElement(), set from/to, serialize(), TextEncoder  — what an edited packet costs
// A third run only tokenizes, so the cost of each way can be read without the tokenizer's.
// Before timing, both outputs of every stanza are re-parsed and must describe the same stanza.
//
//   bun bench/route/splice.bench.ts [--stanzas 300]

import { bench, run, summary, do_not_optimize } from 'mitata';
import { XmlStream } from '../../parser-wasm/host/stream.ts';
import type { StanzaView, XmlStreamHandlers } from '../../parser-wasm/host/types.ts';
import { Packet } from '../../server/core/packet.ts';
import { parseJid } from '../../server/jid.ts';
import { serialize, type Element } from '../../server/xml/element.ts';
import { CHAT_HEADER, chatStanzas } from './chat-corpus.ts';

const argIndex = process.argv.indexOf('--stanzas');
const COUNT = argIndex >= 0 ? Number(process.argv[argIndex + 1]) : 300;
const stanzas = chatStanzas(COUNT);
const batch = new TextEncoder().encode(stanzas.join(''));
const FROM = parseJid('alice@localhost/laptop');
const encoder = new TextEncoder();

type Work = (view: StanzaView) => number;

const tokenizeOnly: Work = (view) => view.raw.length;

// Both ways parse the recipient JID (the router needs it); measured alone to split the cost.
const parseTo: Work = (view) => parseJid(view.attr('to')!).domain.length;

const splice: Work = (view) => {
  const to = parseJid(view.attr('to')!);
  const parts = Packet.fromView(view, FROM, to).bytesFor({ from: FROM, to });
  let n = 0;
  for (const p of parts as Uint8Array[]) n += p.length;
  return n;
};

const serializeAll: Work = (view) => {
  const to = parseJid(view.attr('to')!);
  const el = view.toElement();
  el.attrs.from = FROM.toString();
  el.attrs.to = to.toString();
  return encoder.encode(serialize(el)).length;
};

/** A stream past its header, running `work` on each stanza; feed(batch) processes COUNT stanzas. */
function streamRunning(work: Work): { feed(): number } {
  let bytes = 0;
  let stanzasSeen = 0;
  const handlers: XmlStreamHandlers = {
    onStreamOpen() {},
    onStanza(view) {
      bytes += work(view);
      stanzasSeen++;
    },
    onStreamClose() {},
    onError(e) {
      throw new Error(`tokenizer error: ${e.message}`);
    },
  };
  const stream = new XmlStream(handlers);
  stream.feed(encoder.encode(CHAT_HEADER));
  return {
    feed() {
      stanzasSeen = 0;
      stream.feed(batch);
      if (stanzasSeen !== COUNT) throw new Error(`expected ${COUNT} stanzas, got ${stanzasSeen}`);
      return bytes;
    },
  };
}

/** Both ways must produce the same stanza: re-parse each output in a fresh document. */
function checkEquivalent(): void {
  const outputs: { splice: Uint8Array[]; serialized: string }[] = [];
  const s = new XmlStream({
    onStreamOpen() {},
    onStanza(view) {
      const to = parseJid(view.attr('to')!);
      const parts = Packet.fromView(view, FROM, to).bytesFor({ from: FROM, to }) as Uint8Array[];
      const el = view.toElement();
      el.attrs.from = FROM.toString();
      el.attrs.to = to.toString();
      outputs.push({ splice: parts.map((p) => p.slice()), serialized: serialize(el) });
    },
    onStreamClose() {},
    onError(e) {
      throw new Error(e.message);
    },
  });
  s.feed(encoder.encode(CHAT_HEADER));
  s.feed(batch);
  if (outputs.length !== COUNT) throw new Error(`check: ${outputs.length} of ${COUNT} stanzas`);
  const reparse = (bytes: Uint8Array): string => {
    let out: string | undefined;
    const d = new XmlStream({ onStreamOpen() {}, onStanza: (v) => { out = canonical(v.toElement()); }, onStreamClose() {}, onError: (e) => { throw new Error(e.message); } }, { mode: 'document' });
    d.feed(bytes);
    d.free();
    if (out === undefined) throw new Error('check: output did not parse');
    return out;
  };
  for (const o of outputs) {
    const a = reparse(concat(o.splice));
    const b = reparse(encoder.encode(o.serialized));
    if (a !== b) throw new Error(`check: splice and serialize differ:\n${a}\n${b}`);
  }
  s.free();
}

/**
 * The stanza with attributes in name order, for comparing. The splice also re-declares the
 * stream header's xml:lang (inherited, so the meaning is the same); toElement does not
 * carry it, so it is left out of the comparison on the top element.
 */
function canonical(el: Element): string {
  const copy = el.clone();
  if (copy.attrs['xml:lang'] === 'en') delete copy.attrs['xml:lang'];
  const sortAttrs = (e: Element): void => {
    e.attrs = Object.fromEntries(Object.entries(e.attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const c of e.children) if (typeof c !== 'string') sortAttrs(c);
  };
  sortAttrs(copy);
  return serialize(copy);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

checkEquivalent();

const runs = { tokenize: streamRunning(tokenizeOnly), parseTo: streamRunning(parseTo), splice: streamRunning(splice), serialize: streamRunning(serializeAll) };

summary(() => {
  bench(`tokenize only (${COUNT} stanzas)`, () => do_not_optimize(runs.tokenize.feed()));
  bench(`tokenize + parse to (${COUNT} stanzas)`, () => do_not_optimize(runs.parseTo.feed()));
  bench(`tokenize + splice (${COUNT} stanzas)`, () => do_not_optimize(runs.splice.feed()));
  bench(`tokenize + serialize (${COUNT} stanzas)`, () => do_not_optimize(runs.serialize.feed()));
});

const result = await run({ format: 'mitata', colors: false });

// Per stanza, and net of tokenizing, from mitata's averages.
const avg = (name: string): number => {
  const b = result.benchmarks.find((x) => x.alias.startsWith(name));
  const stats = b?.runs[0]?.stats;
  if (!stats) throw new Error(`no result for ${name}`);
  return stats.avg / COUNT;
};
const t = avg('tokenize only');
const pt = avg('tokenize + parse to');
const sp = avg('tokenize + splice');
const se = avg('tokenize + serialize');
const line = (label: string, ns: number): string => `${label.padEnd(34)} ${ns.toFixed(0).padStart(6)} ns/stanza`;
process.stdout.write(
  '\n' +
    [
      line('tokenize only', t),
      line('tokenize + splice', sp),
      line('tokenize + serialize', se),
      line('tokenize + parse to', pt),
      line('splice (net of tokenizing)', sp - t),
      line('serialize (net of tokenizing)', se - t),
      `serialize / splice, end to end:    ${(se / sp).toFixed(2)}×`,
      `serialize / splice, net:           ${((se - t) / (sp - t)).toFixed(2)}×`,
      `serialize / splice, net of parse:  ${((se - pt) / (sp - pt)).toFixed(2)}×`,
    ].join('\n') +
    '\n',
);
