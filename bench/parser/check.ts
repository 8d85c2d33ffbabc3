// Every measured run goes through here: a parser that drops, merges or invents stanzas,
// loses ids, or garbles text split across chunks fails the benchmark instead of
// producing a fast-looking number.

import type { Mode, ParserAdapter, StreamResult } from './adapter.ts';
import type { Corpus } from './corpus/index.ts';

export function checkResult(adapter: ParserAdapter, corpus: Corpus, mode: Mode, result: StreamResult): void {
  const expected = corpus.expected;
  const wrong: string[] = [];
  if (result.stanzas !== expected.stanzas) wrong.push(`stanzas ${result.stanzas}, expected ${expected.stanzas}`);
  if (mode === 'route') {
    if (result.ids !== expected.ids) wrong.push(`stanzas with an id ${result.ids}, expected ${expected.ids}`);
    if (result.textUnits === undefined && result.rawBytes === undefined) wrong.push('neither text nor raw bytes reported');
    if (result.textUnits !== undefined && !adapter.textDeviation && result.textUnits !== expected.textUnits) {
      wrong.push(`text units ${result.textUnits}, expected ${expected.textUnits}`);
    }
    if (result.rawBytes !== undefined && result.rawBytes !== expected.stanzaBytes) {
      wrong.push(`raw bytes ${result.rawBytes}, expected ${expected.stanzaBytes}`);
    }
  }
  if (wrong.length > 0) throw new Error(`${adapter.name} (${corpus.kind}, ${mode}): ${wrong.join('; ')}`);
}
