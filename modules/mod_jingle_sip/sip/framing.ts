// Cuts a TCP byte stream into SIP messages (RFC 3261 §18.3): headers up to the blank line,
// then exactly Content-Length bytes, which is mandatory on a stream. CRLFs between messages
// are keep-alives (RFC 5626 §3.5.1) and are skipped. A stream that breaks these rules cannot
// be resynchronised: the caller closes the connection.

import { LIMITS } from './grammar.ts';
import { headerEnd } from './message.ts';

const latin1 = new TextDecoder('latin1');

export type FrameResult = { frames: Uint8Array[]; error?: string };

export class SipStreamFramer {
  private buffer = new Uint8Array(0);

  push(chunk: Uint8Array): FrameResult {
    const joined = new Uint8Array(this.buffer.length + chunk.length);
    joined.set(this.buffer);
    joined.set(chunk, this.buffer.length);
    this.buffer = joined;
    const frames: Uint8Array[] = [];
    for (;;) {
      let skip = 0;
      while (skip < this.buffer.length && (this.buffer[skip] === 13 || this.buffer[skip] === 10)) skip++;
      if (skip > 0) this.buffer = this.buffer.subarray(skip);
      if (this.buffer.length === 0) break;
      const end = headerEnd(this.buffer);
      if (end < 0) {
        if (this.buffer.length > LIMITS.maxMessageBytes) return { frames, error: 'headers too large' };
        break;
      }
      const head = latin1.decode(this.buffer.subarray(0, end));
      const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d{1,10})[ \t]*(?=\r\n|$)/i.exec(head);
      if (!m) return { frames, error: 'missing content-length on a stream transport' };
      const length = Number(m[1]);
      if (end + 4 + length > LIMITS.maxMessageBytes) return { frames, error: 'message too large' };
      if (this.buffer.length < end + 4 + length) break;
      frames.push(this.buffer.slice(0, end + 4 + length));
      this.buffer = this.buffer.subarray(end + 4 + length);
    }
    this.buffer = this.buffer.slice();
    return { frames };
  }
}
