// @xmpp/xml: the stream parser xmpp.js clients and components use. It always builds an
// ltx Element per stanza ("element" events), so both modes do the same work; the tokenize
// row shows what a JS XMPP stack pays at minimum.

import { Parser } from '@xmpp/xml';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { keep, packageVersion, streamDecoder } from '../stanzas.ts';

interface LtxElement {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (LtxElement | string)[];
}

export const xmppXml: ParserAdapter = {
  name: '@xmpp/xml',
  version: packageVersion('@xmpp/xml'),
  notes: 'streaming; builds an ltx Element per stanza in both modes; streaming TextDecoder',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const parser = new Parser();
        const decode = streamDecoder();
        let stanzas = 0;
        let ids = 0;
        let textUnits = 0;
        let routed = 0;
        parser.on('error', (error: Error) => { throw error; });
        parser.on('element', (element: LtxElement) => {
          stanzas++;
          if (mode === 'tokenize') return;
          const { attrs } = element;
          if (attrs.id !== undefined) ids++;
          routed += element.name.length + (attrs.type?.length ?? 0) + (attrs.to?.length ?? 0) + (attrs.from?.length ?? 0);
          textUnits += textLength(element);
        });
        for (const chunk of chunks) parser.write(decode(chunk));
        parser.end();
        if (mode === 'tokenize') return { stanzas };
        keep(routed);
        return { stanzas, ids, textUnits };
      },
      dispose() {},
    };
  },
};

/** Counting the text is the check that the tree holds it; an explicit stack, not recursion. */
function textLength(root: LtxElement): number {
  let units = 0;
  const stack: LtxElement[] = [root];
  for (let el = stack.pop(); el; el = stack.pop()) {
    for (const child of el.children) {
      if (typeof child === 'string') units += child.length;
      else stack.push(child);
    }
  }
  return units;
}
