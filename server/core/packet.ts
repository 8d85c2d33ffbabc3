// A Packet is what the router moves: the routing facts (kind, type, id, from, to, hop count)
// read once when it is created, plus the stanza itself, held one of two ways:
//
//   - as the tokenizer's StanzaView, valid only during the synchronous onStanza callback.
//     Unchanged, it is written out as its original bytes with from/to spliced in
//     (view.spliceAttributes): the zero-copy path.
//   - as an Element, built by a module or materialized from the view when someone reads it.
//
// Reading (element()) materializes but keeps the zero-copy path: the bytes are the same.
// Changing (edit()) sets `modified`, and from then on bytesFor serializes the Element.
// Anything that keeps a packet past the current callback (offline storage, queues, timers)
// must call detach() first.
//
// Copies made by retarget() share the stanza content, so an edit through one is seen by
// all: they are the same stanza addressed to different recipients.

import type { StanzaView } from '../../parser-wasm/host/types.ts';
import { type Element, serialize } from '../xml/element.ts';
import { parseJid, type Jid } from '../jid.ts';
import { errorReplyFor, type StanzaError } from '../errors.ts';
import { CONTENT_NAMESPACES } from '../../parser-wasm/host/splice.ts';
import { NS_CLIENT } from '../ns.ts';

export type PacketKind = 'message' | 'presence' | 'iq' | 'other';

function kindOf(local: string): PacketKind {
  return local === 'message' || local === 'presence' || local === 'iq' ? local : 'other';
}

/** The stanza content, shared by a packet and its retargeted copies. */
class Content {
  view: StanzaView | undefined;
  element: Element | undefined;
  modified = false;

  constructor(view: StanzaView | undefined, element: Element | undefined) {
    this.view = view;
    this.element = element;
  }
}

export interface AddressOverride {
  from?: Jid | string;
  to?: Jid | string;
}

export class Packet {
  readonly kind: PacketKind;
  /** The type attribute as sent; undefined when absent. */
  readonly type: string | undefined;
  readonly id: string | undefined;
  from: Jid;
  to: Jid;
  /** How many routing steps led to this packet (see Router: hop budget). */
  hops: number;
  /**
   * A stanza the server accepted earlier and routes again because its session could not
   * take it (core/undelivered.ts). Modules that act once per stanza (archiving) skip it.
   */
  redelivery = false;
  /**
   * One of several copies of a stanza fanned out over the workers of a node (a bare-JID
   * message delivered on two workers), and not the first: whatever is done once per stanza
   * at delivery (received carbons) was done where the first copy went.
   */
  laterCopy = false;
  private readonly content: Content;

  private constructor(kind: PacketKind, type: string | undefined, id: string | undefined, from: Jid, to: Jid, hops: number, content: Content) {
    this.kind = kind;
    this.type = type;
    this.id = id;
    this.from = from;
    this.to = to;
    this.hops = hops;
    this.content = content;
  }

  /** A packet over a tokenizer view; from/to are the addresses the stream validated or stamped. */
  static fromView(view: StanzaView, from: Jid, to: Jid): Packet {
    return new Packet(kindOf(view.local), view.attr('type'), view.attr('id'), from, to, 0, new Content(view, undefined));
  }

  /**
   * A packet over a built element. from/to default to the element's attributes, which must
   * then be present and valid (a module building a stanza without addresses is a bug: throws).
   */
  static fromElement(el: Element, from?: Jid, to?: Jid): Packet {
    const f = from ?? parseJid(requiredAttr(el, 'from'));
    const t = to ?? parseJid(requiredAttr(el, 'to'));
    return new Packet(kindOf(el.localName), el.attrs.type, el.attrs.id, f, t, 0, new Content(undefined, el));
  }

  /**
   * A packet created because of another (a reply, an error, a bounce, a forward): it starts
   * with the parent's hop count plus one, so a loop that crosses a queue or a timer is still
   * cut by the hop budget. Everything that answers a packet should build its answer this way.
   */
  static derive(parent: Packet, el: Element, from?: Jid, to?: Jid): Packet {
    const p = Packet.fromElement(el, from, to);
    p.hops = parent.hops + 1;
    return p;
  }

  /** The same stanza for another recipient (presence broadcast, carbons); shares the content. */
  retarget(to: Jid, from: Jid = this.from): Packet {
    const copy = new Packet(this.kind, this.type, this.id, from, to, this.hops, this.content);
    copy.redelivery = this.redelivery;
    copy.laterCopy = this.laterCopy;
    return copy;
  }

  /**
   * The error reply to this packet, addressed back to its sender, as a derived packet.
   * Undefined for an error (never answered with an error) and for an IQ result.
   */
  errorReply(err: StanzaError): Packet | undefined {
    if (this.type === 'error' || (this.kind === 'iq' && this.type === 'result')) return undefined;
    const reply = errorReplyFor(this.element(), err);
    if (reply === undefined) return undefined;
    reply.attrs.from = this.to.toString();
    reply.attrs.to = this.from.toString();
    return Packet.derive(this, reply, this.to, this.from);
  }

  /** True while the packet still writes its original bytes. */
  get zeroCopy(): boolean {
    return this.content.view !== undefined && !this.content.modified;
  }

  get modified(): boolean {
    return this.content.modified;
  }

  /** The stanza as an Element, for reading. Materialized once and cached. */
  element(): Element {
    const c = this.content;
    if (c.element === undefined) c.element = c.view!.toElement();
    return c.element;
  }

  /** The stanza as an Element, for changing: later writes serialize it instead of the original bytes. */
  edit(): Element {
    const el = this.element();
    this.content.modified = true;
    this.content.view = undefined;
    return el;
  }

  /** Copies the stanza out of the tokenizer's memory so the packet may outlive the callback. */
  detach(): this {
    const c = this.content;
    if (c.view !== undefined) {
      c.element ??= c.view.toElement();
      c.view = undefined;
    }
    return this;
  }

  /**
   * The bytes to write for this stanza with the given addresses set. Parts from a live view
   * point into tokenizer memory: write them before returning from the callback.
   * `contentNamespace` is that of the stream written to: a stanza read in another content
   * namespace (a component's jabber:component:accept, a client's jabber:client) is moved
   * into it, on both the zero-copy and the serializing path.
   */
  bytesFor(set: AddressOverride, contentNamespace: string = NS_CLIENT): Uint8Array[] | string {
    const from = set.from === undefined ? undefined : set.from.toString();
    const to = set.to === undefined ? undefined : set.to.toString();
    const c = this.content;
    if (c.view !== undefined) return c.view.spliceAttributes({ from, to }, { contentNamespace });
    const el = c.element!;
    // Swap in an attribute set for the duration of one synchronous serialization, so the
    // shared element (other recipients, hooks) never sees per-recipient addresses.
    const saved = el.attrs;
    const attrs: Record<string, string> = { ...saved };
    if (from !== undefined) attrs.from = from;
    if (to !== undefined) attrs.to = to;
    const ns = attrs.xmlns;
    if (ns !== undefined && ns !== contentNamespace && el.prefix === '' && CONTENT_NAMESPACES.has(ns)) attrs.xmlns = contentNamespace;
    el.attrs = attrs;
    try {
      return serialize(el);
    } finally {
      el.attrs = saved;
    }
  }
}

function requiredAttr(el: Element, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw new TypeError(`<${el.name}/> has no '${name}' attribute and none was given`);
  return v;
}
