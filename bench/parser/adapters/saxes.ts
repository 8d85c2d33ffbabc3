// saxes: a strict, namespace-aware SAX parser (the one ltx and xmldom users move to).
// Namespaces on, because an XMPP router needs them resolved.

import { SaxesParser, type SaxesAttributeNS } from 'saxes';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, StanzaCounter, StanzaTreeBuilder, streamDecoder } from '../stanzas.ts';

type Attrs = Record<string, SaxesAttributeNS>;

export const saxes: ParserAdapter = {
  name: 'saxes',
  version: packageVersion('saxes'),
  notes: 'streaming; chunks decoded with a streaming TextDecoder; xmlns: true',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const parser = new SaxesParser({ xmlns: true });
        parser.on('error', (error) => { throw error; });
        const decode = streamDecoder();
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          parser.on('opentag', () => counter.open());
          parser.on('closetag', () => counter.close());
          for (const chunk of chunks) parser.write(decode(chunk));
          parser.close();
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder<Attrs>((attrs, name) => attrs[name]?.value);
        parser.on('opentag', (tag) => tree.open(tag.name, tag.attributes as Attrs));
        parser.on('text', (text) => tree.text(text));
        parser.on('closetag', () => tree.close());
        for (const chunk of chunks) parser.write(decode(chunk));
        parser.close();
        return tree.result();
      },
      dispose() {},
    };
  },
};
