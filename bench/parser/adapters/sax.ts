// sax (sax-js): the long-standing streaming SAX parser. Strict mode, namespaces on.

import sax from 'sax';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, StanzaCounter, StanzaTreeBuilder, streamDecoder } from '../stanzas.ts';

type Attrs = Record<string, { value: string }>;

export const saxJs: ParserAdapter = {
  name: 'sax',
  version: packageVersion('sax'),
  notes: 'streaming; strict, xmlns: true; chunks decoded with a streaming TextDecoder',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const parser = sax.parser(true, { xmlns: true });
        parser.onerror = (error: Error) => { throw error; };
        const decode = streamDecoder();
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          parser.onopentag = () => counter.open();
          parser.onclosetag = () => counter.close();
          for (const chunk of chunks) parser.write(decode(chunk));
          parser.close();
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder<Attrs>((attrs, name) => attrs[name]?.value);
        parser.onopentag = (tag: { name: string; attributes: Attrs }) => tree.open(tag.name, tag.attributes);
        parser.ontext = (text: string) => tree.text(text);
        parser.onclosetag = () => tree.close();
        for (const chunk of chunks) parser.write(decode(chunk));
        parser.close();
        return tree.result();
      },
      dispose() {},
    };
  },
};
