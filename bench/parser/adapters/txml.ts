// txml: a fast DOM parser that only takes complete documents. Framing strategy: a
// one-pass incremental scanner (../framing.ts) cuts the decoded stream into stanzas and
// each complete stanza is parsed once. The scanner's cost is charged to txml, since a
// server using txml would need it too. txml's own transformStream was not used: it
// re-parses an incomplete stanza from its start on every chunk, which punishes txml
// on 30–60 KB stanzas arriving in small reads.

import { parse, type TNode } from 'txml';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { StanzaFramer } from '../framing.ts';
import { keep, packageVersion, streamDecoder } from '../stanzas.ts';

export const txml: ParserAdapter = {
  name: 'txml',
  version: packageVersion('txml'),
  notes: 'not streaming: incremental stanza framer + txml.parse per stanza (entities decoded); always builds its DOM',
  async create(mode): Promise<StreamParser> {
    const options = { decodeEntities: true };
    return {
      parseStream(chunks) {
        const framer = new StanzaFramer();
        const decode = streamDecoder();
        let stanzas = 0;
        let ids = 0;
        let textUnits = 0;
        let routed = 0;
        const onStanza = (xml: string): void => {
          const node = parse(xml, options)[0];
          if (node === undefined || typeof node === 'string') throw new Error('txml: stanza did not parse to an element');
          stanzas++;
          if (mode === 'tokenize') return;
          const { attributes } = node;
          if (attributes.id !== undefined) ids++;
          routed += node.tagName.length + (attributes.type?.length ?? 0) + (attributes.to?.length ?? 0) + (attributes.from?.length ?? 0);
          textUnits += textLength(node);
        };
        for (const chunk of chunks) framer.push(decode(chunk), onStanza);
        if (mode === 'tokenize') return { stanzas };
        keep(routed);
        return { stanzas, ids, textUnits };
      },
      dispose() {},
    };
  },
};

function textLength(root: TNode): number {
  let units = 0;
  const stack: TNode[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    for (const child of node.children) {
      if (typeof child === 'string') units += child.length;
      else stack.push(child);
    }
  }
  return units;
}
