// The framing of the links between the workers of one node (server/cluster/link.ts).
//
//   frame  = u32 length (big-endian, of everything after it) · u8 type · body
//   hello    body: JSON { worker, incarnation }             first frame on every link
//   up       body: JSON { jid, priority, available, since } a session was bound or changed
//   down     body: JSON { jid }                             a session left
//   stanza   body: u8 hops · u8 flags · u8 kind · 4 strings (u16 length, 0xffff = absent):
//            target, from, to, type, id · then the stanza bytes, from/to already set
//
// A stanza frame carries the routing facts the receiver needs (kind, type, id, addresses), so
// the stanza is not parsed again to deliver it; its bytes are those the sender's tokenizer
// validated, spliced with the addresses (security rule 4), and are written out unchanged.
// Control frames are rare (one per session change) and stay JSON for readability.

export const FRAME_HELLO = 1;
export const FRAME_UP = 2;
export const FRAME_DOWN = 3;
export const FRAME_STANZA = 4;

/** Larger frames end the link: no stanza a stream accepts comes near this. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export const STANZA_SOLE = 1;

const KINDS = ['message', 'presence', 'iq', 'other'] as const;
export type StanzaKind = (typeof KINDS)[number];

export interface HelloFrame { type: typeof FRAME_HELLO; worker: number; incarnation: string }
export interface UpFrame { type: typeof FRAME_UP; jid: string; priority: number; available: boolean; since: number }
export interface DownFrame { type: typeof FRAME_DOWN; jid: string }
export interface StanzaFrame {
  type: typeof FRAME_STANZA;
  hops: number;
  sole: boolean;
  kind: StanzaKind;
  target: string;
  from: string;
  to: string;
  stanzaType: string | undefined;
  id: string | undefined;
  bytes: Uint8Array;
}
export type ControlFrame = HelloFrame | UpFrame | DownFrame;
export type Frame = ControlFrame | StanzaFrame;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ABSENT = 0xffff;

export function encodeControl(frame: ControlFrame): Uint8Array {
  const { type, ...body } = frame;
  const json = encoder.encode(JSON.stringify(body));
  const out = new Uint8Array(5 + json.length);
  new DataView(out.buffer).setUint32(0, 1 + json.length);
  out[4] = type;
  out.set(json, 5);
  return out;
}

export interface StanzaHeader {
  hops: number;
  sole: boolean;
  kind: StanzaKind;
  target: string;
  from: string;
  to: string;
  stanzaType: string | undefined;
  id: string | undefined;
}

/**
 * One stanza frame in a single buffer. `parts` may point into tokenizer memory: they are
 * copied here, synchronously.
 */
export function encodeStanza(h: StanzaHeader, parts: readonly Uint8Array[] | string): Uint8Array {
  const strings = [h.target, h.from, h.to, h.stanzaType, h.id].map((s) => (s === undefined ? undefined : encoder.encode(s)));
  const body = typeof parts === 'string' ? [encoder.encode(parts)] : parts;
  let length = 1 + 3;
  for (const s of strings) length += 2 + (s?.length ?? 0);
  for (const p of body) length += p.length;
  const out = new Uint8Array(4 + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  out[4] = FRAME_STANZA;
  out[5] = Math.min(255, Math.max(0, h.hops));
  out[6] = h.sole ? STANZA_SOLE : 0;
  out[7] = KINDS.indexOf(h.kind);
  let at = 8;
  for (const s of strings) {
    if (s !== undefined && s.length >= ABSENT) throw new RangeError('address or attribute too long for a worker link frame');
    view.setUint16(at, s === undefined ? ABSENT : s.length);
    at += 2;
    if (s !== undefined) {
      out.set(s, at);
      at += s.length;
    }
  }
  for (const p of body) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Decodes one frame body (type byte onwards). Throws on a malformed frame (the link is then closed). */
export function decodeFrame(body: Uint8Array): Frame {
  const type = body[0];
  if (type === FRAME_STANZA) return decodeStanza(body);
  if (type !== FRAME_HELLO && type !== FRAME_UP && type !== FRAME_DOWN) throw new Error(`unknown worker link frame type ${type}`);
  const json = JSON.parse(decoder.decode(body.subarray(1))) as Record<string, unknown>;
  if (type === FRAME_HELLO) {
    if (typeof json.worker !== 'number' || typeof json.incarnation !== 'string') throw new Error('malformed hello frame');
    return { type, worker: json.worker, incarnation: json.incarnation };
  }
  if (typeof json.jid !== 'string') throw new Error('malformed session frame');
  if (type === FRAME_DOWN) return { type, jid: json.jid };
  if (typeof json.priority !== 'number' || typeof json.available !== 'boolean' || typeof json.since !== 'number') throw new Error('malformed up frame');
  return { type, jid: json.jid, priority: json.priority, available: json.available, since: json.since };
}

function decodeStanza(body: Uint8Array): StanzaFrame {
  if (body.length < 4) throw new Error('short stanza frame');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const kind = KINDS[body[3]];
  if (kind === undefined) throw new Error('bad stanza kind');
  let at = 4;
  const strings: (string | undefined)[] = [];
  for (let i = 0; i < 5; i++) {
    if (at + 2 > body.length) throw new Error('short stanza frame');
    const n = view.getUint16(at);
    at += 2;
    if (n === ABSENT) {
      strings.push(undefined);
      continue;
    }
    if (at + n > body.length) throw new Error('short stanza frame');
    strings.push(decoder.decode(body.subarray(at, at + n)));
    at += n;
  }
  const [target, from, to, stanzaType, id] = strings;
  if (target === undefined || from === undefined || to === undefined) throw new Error('stanza frame without addresses');
  return { type: FRAME_STANZA, hops: body[1], sole: (body[2] & STANZA_SOLE) !== 0, kind, target, from, to, stanzaType, id, bytes: body.subarray(at) };
}

/**
 * Splits a byte stream into frame bodies. Bytes of an incomplete frame are kept until the
 * rest arrives; a frame over MAX_FRAME_BYTES throws.
 */
export class FrameReader {
  private pending: Uint8Array | undefined;

  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => void): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending);
      joined.set(chunk, this.pending.length);
      buf = joined;
      this.pending = undefined;
    }
    let at = 0;
    while (buf.length - at >= 4) {
      const length = ((buf[at] << 24) >>> 0) + (buf[at + 1] << 16) + (buf[at + 2] << 8) + buf[at + 3];
      if (length === 0 || length > MAX_FRAME_BYTES) throw new Error(`worker link frame of ${length} bytes`);
      if (buf.length - at - 4 < length) break;
      onFrame(buf.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    // The chunk may be a buffer the runtime reuses: keep a copy of what is left.
    if (at < buf.length) this.pending = buf.slice(at);
  }
}
