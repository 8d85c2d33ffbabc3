// htmlparser2 in xmlMode: the fastest widely used streaming tokenizer in JS. It does not
// resolve namespaces, which flatters it next to the namespace-aware parsers.

import { Parser } from 'htmlparser2';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, readRecord, StanzaCounter, StanzaTreeBuilder, streamDecoder } from '../stanzas.ts';

export const htmlparser2: ParserAdapter = {
  name: 'htmlparser2',
  version: packageVersion('htmlparser2'),
  notes: 'streaming; xmlMode (entities decoded, no namespace resolution); streaming TextDecoder',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const decode = streamDecoder();
        const fail = (error: Error): never => { throw error; };
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          const parser = new Parser({
            onopentagname: () => counter.open(),
            onclosetag: () => counter.close(),
            onerror: fail,
          }, { xmlMode: true });
          for (const chunk of chunks) parser.write(decode(chunk));
          parser.end();
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder(readRecord);
        const parser = new Parser({
          onopentag: (name, attrs) => tree.open(name, attrs),
          ontext: (text) => tree.text(text),
          onclosetag: () => tree.close(),
          onerror: fail,
        }, { xmlMode: true });
        for (const chunk of chunks) parser.write(decode(chunk));
        parser.end();
        return tree.result();
      },
      dispose() {},
    };
  },
};
