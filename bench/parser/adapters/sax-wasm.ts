// sax-wasm: a Rust SAX tokenizer compiled to WASM, the closest peer in design to
// Meerkat's (bytes in, events out). One instance is reused across streams: end() flushes
// and resets it.
//
// sax-wasm 3.1.4 mis-parses input split inside a tag name or right after a multi-byte
// character (stray "</g>" text events, U+FFFD in place of a character), but is correct
// when every write ends just after a '>'. So the adapter writes up to the last '>' it has
// and holds the rest for the next chunk; that copying is charged to sax-wasm. It also
// leaves entities undecoded in text, so route mode decodes them, as a router would need.
// It drops line feeds inside text (the vCard's base64 line breaks vanish), so its text
// total cannot match and is not checked; stanzas and ids still are.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SAXParser, SaxEventType, type Tag, type Text } from 'sax-wasm';
import type { ParserAdapter, StreamParser } from '../adapter.ts';
import { packageVersion, StanzaCounter, StanzaTreeBuilder } from '../stanzas.ts';

type Attrs = Map<string, string>;

const GT = 0x3e;

export const saxWasm: ParserAdapter = {
  name: 'sax-wasm',
  version: packageVersion('sax-wasm'),
  notes: "streaming, bytes in; writes cut after the last '>' to dodge its chunk-boundary bugs; no namespaces; route mode decodes entities itself",
  textDeviation: 'drops line feeds inside text content (sax-wasm 3.1.4), so its text total is not checked',
  async create(mode): Promise<StreamParser> {
    const wasm = readFileSync(createRequire(import.meta.url).resolve('sax-wasm/lib/sax-wasm.wasm'));
    const events = mode === 'tokenize'
      ? SaxEventType.OpenTag | SaxEventType.CloseTag
      : SaxEventType.OpenTag | SaxEventType.CloseTag | SaxEventType.Text;
    const parser = new SAXParser(events);
    if (!(await parser.prepareWasm(new Uint8Array(wasm)))) throw new Error('sax-wasm: WASM did not instantiate');
    return {
      parseStream(chunks) {
        if (mode === 'tokenize') {
          const counter = new StanzaCounter();
          parser.eventHandler = (type) => {
            if (type === SaxEventType.OpenTag) counter.open();
            else counter.close();
          };
          writeAtTagBoundaries(parser, chunks);
          return { stanzas: counter.stanzas };
        }
        const tree = new StanzaTreeBuilder<Attrs>((attrs, name) => attrs.get(name));
        parser.eventHandler = (type, detail) => {
          if (type === SaxEventType.Text) {
            tree.text(decodeEntities((detail as Text).value));
          } else if (type === SaxEventType.OpenTag) {
            // Details are views into WASM memory that the next event overwrites: copy out.
            const tag = detail as Tag;
            const attrs: Attrs = new Map();
            for (const attr of tag.attributes) attrs.set(attr.name.value, decodeEntities(attr.value.value));
            tree.open(tag.name, attrs);
          } else {
            tree.close();
          }
        };
        writeAtTagBoundaries(parser, chunks);
        return tree.result();
      },
      dispose() {
        parser.eventHandler = undefined;
      },
    };
  },
};

function writeAtTagBoundaries(parser: SAXParser, chunks: readonly Uint8Array[]): void {
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  for (const chunk of chunks) {
    const cut = chunk.lastIndexOf(GT) + 1;
    if (cut === 0) {
      held.push(chunk);
      heldBytes += chunk.length;
      continue;
    }
    if (heldBytes === 0) {
      parser.write(chunk.subarray(0, cut));
    } else {
      const joined = new Uint8Array(heldBytes + cut);
      let offset = 0;
      for (const piece of held) {
        joined.set(piece, offset);
        offset += piece.length;
      }
      joined.set(chunk.subarray(0, cut), offset);
      parser.write(joined);
    }
    held = cut < chunk.length ? [chunk.subarray(cut)] : [];
    heldBytes = chunk.length - cut;
  }
  parser.end();
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  if (!value.includes('&')) return value;
  return value.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (match, body: string) => {
    if (body[0] !== '#') return ENTITIES[body] ?? match;
    return String.fromCodePoint(body[1] === 'x' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10));
  });
}
