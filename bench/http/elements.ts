// Splits what the server sends into top-level elements with Meerkat's own tokenizer:
// a TCP byte stream (stream mode, reset on restart) or one BOSH <body/> at a time.

import { XmlStream } from '../../parser-wasm/host/stream.ts';
import type { StreamHeader } from '../../parser-wasm/host/types.ts';

const decoder = new TextDecoder();

export class ElementReader {
  private readonly stream: XmlStream;
  header: StreamHeader | undefined;

  constructor(onElement: (xml: string) => void, onHeader?: (h: StreamHeader) => void) {
    this.stream = new XmlStream({
      onStreamOpen: (h) => {
        this.header = h;
        onHeader?.(h);
      },
      onStanza: (v) => onElement(decoder.decode(v.raw)),
      onStreamClose: () => {},
      onError: (e) => {
        throw new Error(`bench client: server sent malformed XML: ${e.message}`);
      },
    });
  }

  feed(bytes: Uint8Array): void {
    this.stream.feed(bytes);
  }

  reset(): void {
    this.stream.reset();
    this.header = undefined;
  }

  free(): void {
    this.stream.free?.();
  }
}
