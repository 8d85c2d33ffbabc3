// XML that modules keep as text (vCards, private storage, offline messages, archives,
// pending subscriptions, stream management buffers) is read back with the same strict
// tokenizer the streams use (security rule 1): no second, laxer parser in the server.

import { XmlStream } from '../parser-wasm/host/stream.ts';
import type { Element } from '../server/xml/element.ts';

const encoder = new TextEncoder();

/** The single element in `text`, or undefined if the text is not exactly one well-formed element. */
export function parseStoredElement(text: string): Element | undefined {
  const bytes = encoder.encode(text);
  let found: Element | undefined;
  let count = 0;
  let failed = false;
  const stream = new XmlStream({
    onStreamOpen: () => { failed = true; },
    onStanza: (view) => {
      count++;
      found = view.toElement();
    },
    onStreamClose: () => { failed = true; },
    onError: () => { failed = true; },
  }, { mode: 'document', limits: { maxStanzaBytes: bytes.length + 1 } });
  try {
    stream.feed(bytes);
    if (!failed) stream.finish();
  } finally {
    stream.free();
  }
  return failed || count !== 1 ? undefined : found;
}

/** Serialized size in UTF-8 bytes (what a limit on stored XML should count). */
export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}
