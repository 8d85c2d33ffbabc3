// ltx: the small tokenizer under xmpp.js. Its own Parser class keeps the whole document
// as one tree, which a long-lived stream cannot afford, so the adapter drives ltx's SAX
// tokenizer directly. No namespace resolution.

import SaxLtx from 'ltx/src/parsers/ltx.js';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, readRecord, StanzaCounter, StanzaTreeBuilder, streamDecoder } from '../stanzas.ts';

export const ltx: ParserAdapter = {
  name: 'ltx',
  version: packageVersion('ltx'),
  notes: 'streaming SAX tokenizer (ltx/src/parsers/ltx.js); streaming TextDecoder; route mode builds plain per-stanza trees',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const parser = new SaxLtx();
        parser.on('error', (error: Error) => { throw error; });
        const decode = streamDecoder();
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          parser.on('startElement', () => counter.open());
          parser.on('endElement', () => counter.close());
          for (const chunk of chunks) parser.write(decode(chunk));
          parser.end();
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder(readRecord);
        parser.on('startElement', (name: string, attrs: Record<string, string>) => tree.open(name, attrs));
        parser.on('text', (text: string) => tree.text(text));
        parser.on('endElement', () => tree.close());
        for (const chunk of chunks) parser.write(decode(chunk));
        parser.end();
        return tree.result();
      },
      dispose() {},
    };
  },
};
