// Test doubles for the core: sessions that record what they were sent, a StanzaView over an
// Element (the real one reads tokenizer memory), and a core with a captured log.

import type { StanzaView, XmlAttribute } from '../../../parser-wasm/host/types.ts';
import { Element, serialize } from '../../../server/xml/element.ts';
import { parseJid, type Jid } from '../../../server/jid.ts';
import type { StreamError } from '../../../server/errors.ts';
import { Packet } from '../../../server/core/packet.ts';
import type { Session } from '../../../server/core/sessions.ts';
import { Core, type CoreOptions } from '../../../server/core/node.ts';
import { Logger } from '../../../server/log.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class FakeSession implements Session {
  readonly jid: Jid;
  priority: number;
  available: boolean;
  interested = false;
  readonly sent: Packet[] = [];
  /** What was written, as text. */
  readonly wire: string[] = [];
  closedWith: StreamError | undefined;
  closed = false;

  constructor(jid: string, options: { priority?: number; available?: boolean } = {}) {
    this.jid = parseJid(jid);
    this.priority = options.priority ?? 0;
    this.available = options.available ?? true;
  }

  send(packet: Packet): void {
    this.sent.push(packet);
    const bytes = packet.bytesFor({ from: packet.from, to: packet.to });
    this.wire.push(typeof bytes === 'string' ? bytes : bytes.map((b) => decoder.decode(b)).join(''));
  }

  close(error?: StreamError): void {
    this.closed = true;
    this.closedWith = error;
  }
}

/** A StanzaView over an Element that counts how it is used. */
export class FakeView implements StanzaView {
  readonly source: Element;
  toElementCalls = 0;
  spliceCalls = 0;

  constructor(source: Element) {
    this.source = source;
  }

  get local(): string { return this.source.localName; }
  get ns(): string { return this.source.ns; }
  get name(): string { return this.source.name; }
  get prefix(): string { return this.source.prefix; }
  readonly offset = 0;
  children(): StanzaView[] { return this.source.elements.map((e) => new FakeView(e)); }
  attr(name: string): string | undefined { return this.source.attrs[name]; }
  get attrs(): XmlAttribute[] {
    return Object.entries(this.source.attrs).map(([name, value]) => ({ name, local: name, prefix: '', ns: '', value }));
  }
  get raw(): Uint8Array { return encoder.encode(serialize(this.source)); }
  copyRaw(): Uint8Array { return this.raw.slice(); }
  toElement(): Element {
    this.toElementCalls++;
    return this.source.clone();
  }
  spliceAttributes(set: Record<string, string | undefined>): Uint8Array[] {
    this.spliceCalls++;
    const copy = this.source.clone();
    for (const k in set) if (set[k] !== undefined) copy.attrs[k] = set[k]!;
    // Split in two parts to show callers handle a list.
    const text = serialize(copy);
    return [encoder.encode(text.slice(0, 5)), encoder.encode(text.slice(5))];
  }
}

/** Parses literal XML of the small subset tests use (no entities beyond the five, no comments). */
export function parseXml(text: string): Element {
  const re = /<\/([^>\s]+)\s*>|<([^\s/>]+)((?:\s+[^\s=]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*(\/?)>|([^<]+)/g;
  const attrRe = /([^\s=]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  let root: Element | undefined;
  let current: Element | undefined;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) {
      current = current?.parent;
    } else if (m[2] !== undefined) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(attrRe)) attrs[a[1]] = unescape(a[2] ?? a[3]);
      const el = new Element(m[2], attrs);
      if (current) current.append(el);
      else root = el;
      if (m[4] !== '/') current = el;
    } else if (m[5] !== undefined && current && m[5].trim() !== '') {
      current.append(unescape(m[5]));
    }
  }
  if (!root) throw new Error('no element in ' + text);
  return root;
}

/** A packet from literal XML with from/to taken from its attributes. */
export function packet(text: string): Packet {
  return Packet.fromElement(parseXml(text));
}

/** A packet over a FakeView, as a stream would create it. */
export function viewPacket(text: string): { packet: Packet; view: FakeView } {
  const el = parseXml(text);
  const view = new FakeView(el);
  return { packet: Packet.fromView(view, parseJid(el.attrs.from), parseJid(el.attrs.to)), view };
}

export interface TestCore {
  core: Core;
  logs: Array<Record<string, unknown>>;
}

export function testCore(options: Partial<CoreOptions> = {}): TestCore {
  const logs: Array<Record<string, unknown>> = [];
  const logger = new Logger('info', (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const core = new Core({ hosts: ['example.com'], logger, ...options });
  return { core, logs };
}

/** Text of the single element a session got, with a stable attribute order for comparison. */
export function normalized(xmlText: string): string {
  return canonical(parseXml(xmlText));
}

function canonical(el: Element): string {
  const attrs = Object.keys(el.attrs).sort().map((k) => ` ${k}='${el.attrs[k]}'`).join('');
  const children = el.children.map((c) => (typeof c === 'string' ? c : canonical(c))).join('');
  return children === '' ? `<${el.name}${attrs}/>` : `<${el.name}${attrs}>${children}</${el.name}>`;
}
