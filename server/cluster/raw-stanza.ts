// A stanza that arrived from another worker, as a StanzaView over its bytes, so the router
// and Packet treat it like one read from a stream.
//
// The bytes were spliced by the sending worker's tokenizer view with the addresses the frame
// names, in jabber:client. Written with those same addresses into a jabber:client stream,
// they are the bytes to send as they are: no parse, no copy. Anything else (a hook reading
// the element, offline storage detaching it, a carbon copy with another 'to', a stream in
// another content namespace) parses them once with the same strict tokenizer the streams use
// and works from that.

import { XmlStream } from '../../parser-wasm/host/stream.ts';
import type { StanzaView, XmlAttribute } from '../../parser-wasm/host/types.ts';
import type { Element } from '../xml/element.ts';
import { NS_CLIENT } from '../ns.ts';

const STREAM_HEADER = new TextEncoder().encode(`<stream:stream xmlns='${NS_CLIENT}' xmlns:stream='http://etherx.jabber.org/streams'>`);

interface Parsed {
  element: Element;
  attrs: XmlAttribute[];
  prefix: string;
  ns: string;
  name: string;
}

export class RawStanzaView implements StanzaView {
  readonly local: string;
  readonly raw: Uint8Array;
  readonly offset = 0;
  private readonly known: Record<string, string | undefined>;
  private parsed: Parsed | undefined;

  constructor(local: string, bytes: Uint8Array, known: { from: string; to: string; type: string | undefined; id: string | undefined }) {
    this.local = local;
    this.raw = bytes;
    this.known = known;
  }

  get ns(): string {
    return this.parse().ns;
  }

  get name(): string {
    return this.parse().name;
  }

  get prefix(): string {
    return this.parse().prefix;
  }

  get attrs(): XmlAttribute[] {
    return this.parse().attrs;
  }

  attr(name: string): string | undefined {
    if (Object.hasOwn(this.known, name)) return this.known[name];
    return this.parse().attrs.find((a) => a.name === name)?.value;
  }

  children(): StanzaView[] {
    let out: StanzaView[] = [];
    this.withView((v) => {
      out = v.children().map((c) => new RawStanzaView(c.local, c.copyRaw(), { from: '', to: '', type: undefined, id: undefined }));
    });
    return out;
  }

  copyRaw(): Uint8Array {
    return this.raw.slice();
  }

  toElement(): Element {
    return this.parse().element;
  }

  spliceAttributes(set: Record<string, string | undefined>, options: { contentNamespace?: string } = {}): Uint8Array[] {
    const keys = Object.keys(set);
    const unchanged = (options.contentNamespace ?? NS_CLIENT) === NS_CLIENT
      && keys.every((k) => (k === 'from' || k === 'to') && (set[k] === undefined || set[k] === this.known[k]));
    if (unchanged) return [this.raw];
    let parts: Uint8Array[] = [];
    this.withView((v) => {
      // Copied: the view's parts point into tokenizer memory freed below.
      parts = v.spliceAttributes(set, options).map((p) => p.slice());
    });
    return parts;
  }

  private parse(): Parsed {
    if (this.parsed === undefined) {
      let parsed: Parsed | undefined;
      this.withView((v) => {
        parsed = { element: v.toElement(), attrs: v.attrs, prefix: v.prefix, ns: v.ns, name: v.name };
      });
      this.parsed = parsed;
    }
    return this.parsed!;
  }

  /** Runs `use` with a tokenizer view of the bytes; throws if they are not one element. */
  private withView(use: (view: StanzaView) => void): void {
    let seen = 0;
    let error: string | undefined;
    // Read inside a jabber:client stream header, as the c2s stream read it: a stanza a
    // module built without an xmlns is in jabber:client here too.
    const stream = new XmlStream({
      onStreamOpen: () => {},
      onStanza: (view) => {
        seen++;
        use(view);
      },
      onStreamClose: () => { error = 'stream close'; },
      onError: (e) => { error = e.message; },
    }, { mode: 'stream', limits: { maxStanzaBytes: this.raw.length + 1 } });
    try {
      stream.feed(STREAM_HEADER);
      if (error === undefined) stream.feed(this.raw);
    } finally {
      stream.free();
    }
    if (error !== undefined || seen !== 1) throw new Error(`a stanza from another worker did not parse: ${error ?? `${seen} elements`}`);
  }
}
