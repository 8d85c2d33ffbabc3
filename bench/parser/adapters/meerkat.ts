// Meerkat's WASM streaming tokenizer through its host API (parser-wasm/host). Bytes go in
// as they come; each stanza arrives as a lazy view over the tokenizer's records.
//
// Route mode reads what the router reads: the name, the type/to/from/id attributes and
// the raw bytes (forwarded as they are). The "toElement" variant also materializes the
// detached Element tree, the like-for-like comparison with the peers' trees.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTokenizer, XmlStream } from '../../../parser-wasm/host/index.ts';
import type { StanzaView, XmlStreamHandlers } from '../../../parser-wasm/host/types.ts';
import type { Element } from '../../../server/xml/element.ts';
import type { Mode, ParserAdapter, StreamParser } from '../adapter.ts';
import { keep } from '../stanzas.ts';

const RELEASE_WASM = fileURLToPath(new URL('../../../parser-wasm/build/release.wasm', import.meta.url));

export function meerkatBuilt(): boolean {
  return existsSync(RELEASE_WASM);
}

/** The corpus holds 60 KB rosters; the default 256 KB stanza limit covers them. */
function createStream(handlers: XmlStreamHandlers): XmlStream {
  return new XmlStream(handlers, {}, createTokenizer('release'));
}

interface Totals {
  stanzas: number;
  ids: number;
  textUnits: number;
  rawBytes: number;
  routed: number;
}

type StanzaReader = (view: StanzaView, totals: Totals) => void;

function meerkatAdapter(name: string, notes: string, modes: readonly Mode[], route: StanzaReader): ParserAdapter {
  return {
    name,
    version: 'parser-wasm (release build)',
    notes,
    modes,
    async create(mode): Promise<StreamParser> {
      const totals: Totals = { stanzas: 0, ids: 0, textUnits: 0, rawBytes: 0, routed: 0 };
      let failure: Error | undefined;
      const stream = createStream({
        onStreamOpen() {},
        onStanza: mode === 'tokenize'
          ? () => { totals.stanzas++; }
          : (view) => { totals.stanzas++; route(view, totals); },
        onStreamClose() {},
        onError(error) {
          failure = new Error(`meerkat: ${error.condition} at byte ${error.offset}: ${error.message}`);
        },
      });
      return {
        parseStream(chunks) {
          stream.reset();
          totals.stanzas = totals.ids = totals.textUnits = totals.rawBytes = totals.routed = 0;
          for (const chunk of chunks) stream.feed(chunk);
          stream.finish();
          if (failure) throw failure;
          keep(totals.routed);
          if (mode === 'tokenize') return { stanzas: totals.stanzas };
          return name === 'meerkat'
            ? { stanzas: totals.stanzas, ids: totals.ids, rawBytes: totals.rawBytes }
            : { stanzas: totals.stanzas, ids: totals.ids, textUnits: totals.textUnits };
        },
        dispose() {
          stream.free();
        },
      };
    },
  };
}

export const meerkat = meerkatAdapter(
  'meerkat',
  'streaming, bytes in; route mode reads the stanza view (name, type/to/from/id, raw bytes); namespaces resolved, full well-formedness checks and limits on',
  ['tokenize', 'route'],
  (view, totals) => {
    const id = view.attr('id');
    if (id !== undefined) totals.ids++;
    totals.routed += view.local.length + (view.attr('type')?.length ?? 0) + (view.attr('to')?.length ?? 0)
      + (view.attr('from')?.length ?? 0);
    totals.rawBytes += view.raw.length;
  },
);

export const meerkatToElement = meerkatAdapter(
  'meerkat toElement',
  'as meerkat, and route mode also materializes the detached Element tree (like-for-like with the peers\u2019 trees)',
  ['route'],
  (view, totals) => {
    const element = view.toElement();
    if (element.attrs.id !== undefined) totals.ids++;
    totals.routed += element.name.length + (element.attrs.type?.length ?? 0) + (element.attrs.to?.length ?? 0)
      + (element.attrs.from?.length ?? 0);
    totals.textUnits += textLength(element);
  },
);

function textLength(root: Element): number {
  let units = 0;
  const stack: Element[] = [root];
  for (let el = stack.pop(); el; el = stack.pop()) {
    for (const child of el.children) {
      if (typeof child === 'string') units += child.length;
      else stack.push(child);
    }
  }
  return units;
}
