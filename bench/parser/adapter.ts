// The one interface every competitor implements. An adapter turns a parser into
// "parse this stream, given chunk by chunk as a socket would deliver it, and say what you
// saw"; the runner checks what it saw against the corpus on every run.

export type Mode = 'tokenize' | 'route';

export const MODES: readonly Mode[] = ['tokenize', 'route'];

export const MODE_LABEL: Record<Mode, string> = {
  tokenize: 'tokenize only',
  route: 'tokenize + build what the router consumes',
};

/**
 * What one pass over a stream produced. `stanzas` is always checked. In route mode the
 * adapter also reports `ids` (stanzas carrying an id attribute) and either `textUnits`
 * (decoded text inside stanzas, in UTF-16 units) or `rawBytes` (bytes of the stanzas
 * as handed over), whichever its output carries.
 */
export interface StreamResult {
  stanzas: number;
  ids?: number;
  textUnits?: number;
  rawBytes?: number;
}

export interface StreamParser {
  /** Parses one whole stream, header to footer. Throws on a parse error. */
  parseStream(chunks: readonly Uint8Array[]): StreamResult;
  dispose(): void;
}

export interface ParserAdapter {
  /** Row label, e.g. "saxes". */
  readonly name: string;
  /** Package and version or build, for the results table. */
  readonly version: string;
  /** One line on how the adapter feeds this parser and what it builds, for RESULTS.md. */
  readonly notes: string;
  /** Modes this adapter has a distinct measurement for; all when absent. */
  readonly modes?: readonly Mode[];
  /**
   * Set when the parser's text output is known to differ from XML's (e.g. it drops line
   * feeds). The route-mode text check is then skipped for it, and this reason printed
   * beside its numbers; stanza and id counts are still checked.
   */
  readonly textDeviation?: string;
  /** Prepares a parser for a mode (loads WASM, etc.); measured runs exclude this. */
  create(mode: Mode): Promise<StreamParser>;
}
