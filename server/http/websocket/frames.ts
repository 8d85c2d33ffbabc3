// Reads WebSocket frames with the tokenizer in document mode: each frame must be exactly
// one element (RFC 7395 §3.3.1); none, two, or a truncated one is `not-well-formed`.

import type { ParserLimits, StanzaView, XmlError } from '../../../parser-wasm/host/types.ts';
import { XmlStream } from '../../../parser-wasm/host/stream.ts';

export interface FrameSink {
  element(view: StanzaView): void;
  error(error: XmlError): void;
}

export class FrameReader {
  private readonly xml: XmlStream;
  private sink: FrameSink | undefined;
  private elements = 0;
  private failed = false;
  private reading = false;
  private freed = false;

  constructor() {
    this.xml = new XmlStream({
      onStreamOpen: () => this.fail('a frame must hold one element'),
      onStanza: (view) => this.onElement(view),
      onStreamClose: () => this.fail('a frame must hold one element'),
      onError: (error) => this.report(error),
    }, { mode: 'document' });
  }

  read(bytes: Uint8Array, sink: FrameSink): void {
    if (this.freed) return;
    this.sink = sink;
    this.elements = 0;
    this.failed = false;
    this.reading = true;
    try {
      this.xml.feed(bytes);
      // The stream may have been closed by what the frame said (<close/>, an error).
      if (!this.failed && !this.freed) this.xml.finish();
      if (!this.failed && !this.freed && this.elements === 0) this.fail('a frame must hold one element');
    } finally {
      this.reading = false;
      this.sink = undefined;
      if (this.freed) this.xml.free();
    }
  }

  setLimits(limits: Partial<ParserLimits>): void {
    this.xml.setLimits(limits);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    if (!this.reading) this.xml.free();
  }

  private onElement(view: StanzaView): void {
    if (this.failed) return;
    this.elements++;
    if (this.elements > 1) return this.fail('a frame must hold exactly one element');
    this.sink?.element(view);
  }

  private fail(message: string): void {
    this.report({ condition: 'not-well-formed', offset: 0, message });
  }

  private report(error: XmlError): void {
    if (this.failed) return;
    this.failed = true;
    this.sink?.error(error);
  }
}
