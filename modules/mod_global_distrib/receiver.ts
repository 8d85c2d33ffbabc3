// Turns the stanza bytes of DATA frames back into packets with the same strict tokenizer the
// client streams use (security rules 1 and 4): each inbound link connection owns one
// XmlStream, opened once with a jabber:client stream header, and each frame's bytes are fed
// to it as one stanza. The packet handed on is a view over tokenizer memory, so a stanza a
// local session receives unchanged is written as the bytes the sending cluster forwarded.

import { XmlStream } from '../../parser-wasm/host/stream.ts';
import { DEFAULT_LIMITS } from '../../parser-wasm/host/limits.ts';
import { Packet } from '../../server/core/packet.ts';
import { tryParseJid } from '../../server/jid.ts';
import type { DataFrame } from './frame.ts';

const HEADER = new TextEncoder().encode(
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
);

export type ReceiveResult = 'routed' | 'bad-address' | 'bad-stanza';

export class StanzaReceiver {
  private readonly stream: XmlStream;
  private current: DataFrame | undefined;
  private stanzas = 0;
  private failed = false;
  private badAddress = false;

  /** `route` runs synchronously inside receive(), while the packet's view is valid. */
  constructor(private readonly route: (packet: Packet, frame: DataFrame) => void) {
    this.stream = new XmlStream({
      onStreamOpen: () => {},
      onStanza: (view) => {
        this.stanzas++;
        const frame = this.current;
        if (frame === undefined || this.stanzas > 1) return;
        const from = tryParseJid(frame.from);
        const to = tryParseJid(frame.to);
        if (from === undefined || to === undefined) {
          this.badAddress = true;
          return;
        }
        this.route(Packet.fromView(view, from, to), frame);
      },
      onStreamClose: () => { this.failed = true; },
      onError: () => { this.failed = true; },
    }, { mode: 'stream', limits: DEFAULT_LIMITS });
    this.stream.feed(HEADER);
  }

  /** Routes one frame's stanza. A frame that is not exactly one well-formed stanza breaks the link. */
  receive(frame: DataFrame): ReceiveResult {
    if (this.failed) return 'bad-stanza';
    this.current = frame;
    this.stanzas = 0;
    this.badAddress = false;
    try {
      this.stream.feed(frame.stanza);
    } finally {
      this.current = undefined;
    }
    if (this.failed || this.stanzas !== 1) {
      this.failed = true;
      return 'bad-stanza';
    }
    return this.badAddress ? 'bad-address' : 'routed';
  }

  close(): void {
    this.stream.free();
  }
}
