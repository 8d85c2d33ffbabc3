// node-expat: libexpat behind a NAN binding. Its addon builds only against Node's own
// headers (Bun rejects it: different module ABI), so the runner measures it in a Node
// child process (../node/child.ts). Created with XML_ParserCreate: no namespace
// processing, unlike the C harness.

import { Parser } from 'node-expat';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, readRecord, StanzaCounter, StanzaTreeBuilder } from '../stanzas.ts';

export const nodeExpat: ParserAdapter = {
  name: 'node-expat',
  version: packageVersion('node-expat'),
  notes: 'streaming, bytes in (libexpat decodes UTF-8); Node only; no namespace processing',
  async create(mode): Promise<StreamParser> {
    return {
      parseStream(chunks) {
        const parser = new Parser('UTF-8');
        parser.on('error', (error: string) => { throw new Error('node-expat: ' + error); });
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          parser.on('startElement', () => counter.open());
          parser.on('endElement', () => counter.close());
          for (const chunk of chunks) parser.write(chunk);
          parser.end();
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder(readRecord);
        parser.on('startElement', (name: string, attrs: Record<string, string>) => tree.open(name, attrs));
        parser.on('text', (text: string) => tree.text(text));
        parser.on('endElement', () => tree.close());
        for (const chunk of chunks) parser.write(chunk);
        parser.end();
        return tree.result();
      },
      dispose() {},
    };
  },
};
