// Shared by the Bun and Deno parser tests: runs XmlStream over bytes split at given points
// and records what it reports, in a form easy to compare and to read in a failure.

import { XmlStream, type XmlStreamMode, type ParserLimits, type TokenizerInstance } from '../../../parser-wasm/host/index.ts';
import { Element } from '../../../server/xml/element.ts';

export interface ConformanceCase {
  name: string;
  input: string;
  expect: string[];
  header?: boolean;
  mode?: XmlStreamMode;
  limits?: Partial<ParserLimits>;
  finish?: boolean;
}

export interface ConformanceTable {
  header: string;
  cases: ConformanceCase[];
}

export interface RunResult {
  /** "open:<…/>", "stanza:<…>", "close", "error:<condition>@<offset>" */
  events: string[];
  /** Each stanza's stream offset and exact bytes. */
  slices: Array<{ offset: number; raw: Uint8Array }>;
}

const encoder = new TextEncoder();

/** UTF-8 of `text`, where the four characters `\xHH` stand for the raw byte 0xHH. */
export function inputBytes(text: string): Uint8Array {
  const out: number[] = [];
  let last = 0;
  const re = /\\x([0-9A-Fa-f]{2})/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(...encoder.encode(text.slice(last, m.index)), parseInt(m[1], 16));
    last = m.index + 4;
  }
  out.push(...encoder.encode(text.slice(last)));
  return Uint8Array.from(out);
}

export interface RunOptions {
  mode?: XmlStreamMode;
  limits?: Partial<ParserLimits>;
  finish?: boolean;
  instance?: TokenizerInstance;
}

/** Feeds `bytes` split at the sorted positions `splits` and collects the events. */
export function runSplit(bytes: Uint8Array, splits: number[], options: RunOptions = {}): RunResult {
  const events: string[] = [];
  const slices: RunResult['slices'] = [];
  const stream = new XmlStream({
    onStreamOpen(header) {
      const attrs: Record<string, string> = {};
      for (const a of header.attrs) attrs[a.name] = a.value;
      events.push('open:' + new Element(header.name, attrs).toString());
    },
    onStanza(view) {
      events.push('stanza:' + view.toElement().toString());
      slices.push({ offset: view.offset, raw: view.copyRaw() });
    },
    onStreamClose() {
      events.push('close');
    },
    onError(error) {
      events.push(`error:${error.condition}@${error.offset}`);
    },
  }, { mode: options.mode, limits: options.limits }, options.instance);
  let at = 0;
  for (const split of [...splits, bytes.length]) {
    if (split > at) stream.feed(bytes.subarray(at, split));
    at = Math.max(at, split);
  }
  if (options.finish) stream.finish();
  stream.free();
  return { events, slices };
}

export function runWhole(bytes: Uint8Array, options: RunOptions = {}): RunResult {
  return runSplit(bytes, [], options);
}

/** Runs a conformance case; offsets in the result are relative to the case's own input. */
export function runCase(table: ConformanceTable, c: ConformanceCase, splits: number[] = []): string[] {
  const prefix = c.header ? encoder.encode(table.header) : new Uint8Array(0);
  const body = inputBytes(c.input);
  const bytes = new Uint8Array(prefix.length + body.length);
  bytes.set(prefix);
  bytes.set(body, prefix.length);
  const shifted = splits.map((s) => s + prefix.length);
  const { events } = runSplit(bytes, shifted, { mode: c.mode, limits: c.limits, finish: c.finish });
  return events
    .filter((e) => !(c.header && e.startsWith('open:')))
    .map((e) => {
      const m = /^error:(.*)@(\d+)$/.exec(e);
      return m ? `error:${m[1]}@${Number(m[2]) - prefix.length}` : e;
    });
}
