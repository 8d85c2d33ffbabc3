// The framing of the links between the workers of one node (server/cluster/link.ts).
//
//   frame  = u32 length (big-endian, of everything after it) · u8 type · body
//   hello    body: JSON { worker, incarnation }             first frame on every link
//   up       body: JSON { jid, priority, available, since } a session was bound or changed
//   down     body: JSON { jid }                             a session left
//   notice   body: JSON { host, topic, data }               core/worker-notices.ts
//   stanza   body: u8 hops · u8 flags · u8 kind · 5 strings (u16 length, 0xffff = absent):
//            target, from, to, type, id · then the stanza bytes, from/to already set.
//            flags: 1 = the sole copy, 2 = a later copy (see ForwardedCopy in core/router.ts)
//   audience body: u8 hops · u8 flags · u8 kind · 6 strings: user (bare JID), audience name,
//            from, to, type, id · u16 count · that many strings: full JIDs left out ·
//            then the stanza bytes, from/to already set (Router.deliverToAudience).
//            flags: 1 = deliver with this 'to' rather than each session's full JID
//
// A stanza frame carries the routing facts the receiver needs (kind, type, id, addresses), so
// the stanza is not parsed again to deliver it; its bytes are those the sender's tokenizer
// validated, spliced with the addresses (security rule 4), and are written out unchanged.
// Control frames are rare (one per session change) and stay JSON for readability.

export const FRAME_HELLO = 1;
export const FRAME_UP = 2;
export const FRAME_DOWN = 3;
export const FRAME_STANZA = 4;
export const FRAME_AUDIENCE = 5;
export const FRAME_NOTICE = 6;

/** Larger frames end the link: no stanza a stream accepts comes near this. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export const STANZA_SOLE = 1;
export const STANZA_LATER = 2;
export const AUDIENCE_KEEP_TO = 1;

const KINDS = ['message', 'presence', 'iq', 'other'] as const;
export type StanzaKind = (typeof KINDS)[number];
/** Which copy of a stanza a frame carries (the router's ForwardedCopy). */
export type FrameCopy = 'sole' | 'first' | 'later';

export interface HelloFrame { type: typeof FRAME_HELLO; worker: number; incarnation: string }
export interface UpFrame { type: typeof FRAME_UP; jid: string; priority: number; available: boolean; since: number }
export interface DownFrame { type: typeof FRAME_DOWN; jid: string }
export interface NoticeFrame { type: typeof FRAME_NOTICE; host: string; topic: string; data: string }
export interface StanzaFrame {
  type: typeof FRAME_STANZA;
  hops: number;
  copy: FrameCopy;
  kind: StanzaKind;
  target: string;
  from: string;
  to: string;
  stanzaType: string | undefined;
  id: string | undefined;
  bytes: Uint8Array;
}
export interface AudienceFrame extends AudienceHeader {
  type: typeof FRAME_AUDIENCE;
  bytes: Uint8Array;
}
export type ControlFrame = HelloFrame | UpFrame | DownFrame | NoticeFrame;
export type Frame = ControlFrame | StanzaFrame | AudienceFrame;

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
  copy: FrameCopy;
  kind: StanzaKind;
  target: string;
  from: string;
  to: string;
  stanzaType: string | undefined;
  id: string | undefined;
}

export interface AudienceHeader {
  hops: number;
  kind: StanzaKind;
  /** The account's bare JID. */
  user: string;
  audience: string;
  from: string;
  to: string;
  stanzaType: string | undefined;
  id: string | undefined;
  /** Full JIDs of sessions that do not get it. */
  except: readonly string[];
  keepTo: boolean;
}

/**
 * One stanza frame in a single buffer. `parts` may point into tokenizer memory: they are
 * copied here, synchronously.
 */
export function encodeStanza(h: StanzaHeader, parts: readonly Uint8Array[] | string): Uint8Array {
  const flags = h.copy === 'sole' ? STANZA_SOLE : h.copy === 'later' ? STANZA_LATER : 0;
  return encodeWithStanza(FRAME_STANZA, h.hops, flags, h.kind, [h.target, h.from, h.to, h.stanzaType, h.id], undefined, parts);
}

/** One audience frame in a single buffer; `parts` as for encodeStanza. */
export function encodeAudience(h: AudienceHeader, parts: readonly Uint8Array[] | string): Uint8Array {
  if (h.except.length >= ABSENT) throw new RangeError('too many sessions left out for a worker link frame');
  return encodeWithStanza(FRAME_AUDIENCE, h.hops, h.keepTo ? AUDIENCE_KEEP_TO : 0, h.kind, [h.user, h.audience, h.from, h.to, h.stanzaType, h.id], h.except, parts);
}

function encodeWithStanza(
  type: number,
  hops: number,
  flags: number,
  kind: StanzaKind,
  fields: readonly (string | undefined)[],
  list: readonly string[] | undefined,
  parts: readonly Uint8Array[] | string,
): Uint8Array {
  const strings = fields.map((s) => (s === undefined ? undefined : encoder.encode(s)));
  const listed = list?.map((s) => encoder.encode(s));
  const body = typeof parts === 'string' ? [encoder.encode(parts)] : parts;
  let length = 1 + 3;
  for (const s of strings) length += 2 + (s?.length ?? 0);
  if (listed !== undefined) {
    length += 2;
    for (const s of listed) length += 2 + s.length;
  }
  for (const p of body) length += p.length;
  const out = new Uint8Array(4 + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  out[4] = type;
  out[5] = Math.min(255, Math.max(0, hops));
  out[6] = flags;
  out[7] = KINDS.indexOf(kind);
  let at = 8;
  const put = (s: Uint8Array | undefined): void => {
    if (s !== undefined && s.length >= ABSENT) throw new RangeError('address or attribute too long for a worker link frame');
    view.setUint16(at, s === undefined ? ABSENT : s.length);
    at += 2;
    if (s !== undefined) {
      out.set(s, at);
      at += s.length;
    }
  };
  for (const s of strings) put(s);
  if (listed !== undefined) {
    view.setUint16(at, listed.length);
    at += 2;
    for (const s of listed) put(s);
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
  if (type === FRAME_AUDIENCE) return decodeAudience(body);
  if (type !== FRAME_HELLO && type !== FRAME_UP && type !== FRAME_DOWN && type !== FRAME_NOTICE) throw new Error(`unknown worker link frame type ${type}`);
  const json = JSON.parse(decoder.decode(body.subarray(1))) as Record<string, unknown>;
  if (type === FRAME_NOTICE) {
    if (typeof json.host !== 'string' || typeof json.topic !== 'string' || typeof json.data !== 'string') throw new Error('malformed notice frame');
    return { type, host: json.host, topic: json.topic, data: json.data };
  }
  if (type === FRAME_HELLO) {
    if (typeof json.worker !== 'number' || typeof json.incarnation !== 'string') throw new Error('malformed hello frame');
    return { type, worker: json.worker, incarnation: json.incarnation };
  }
  if (typeof json.jid !== 'string') throw new Error('malformed session frame');
  if (type === FRAME_DOWN) return { type, jid: json.jid };
  if (typeof json.priority !== 'number' || typeof json.available !== 'boolean' || typeof json.since !== 'number') throw new Error('malformed up frame');
  return { type, jid: json.jid, priority: json.priority, available: json.available, since: json.since };
}

/** Reads the strings of a stanza or audience frame from byte 4 on; `at` ends after them. */
class StringReader {
  at = 4;
  private readonly body: Uint8Array;
  private readonly view: DataView;

  constructor(body: Uint8Array) {
    if (body.length < 4) throw new Error('short stanza frame');
    this.body = body;
    this.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  count(): number {
    if (this.at + 2 > this.body.length) throw new Error('short stanza frame');
    const n = this.view.getUint16(this.at);
    this.at += 2;
    return n;
  }

  string(): string | undefined {
    const n = this.count();
    if (n === ABSENT) return undefined;
    if (this.at + n > this.body.length) throw new Error('short stanza frame');
    const s = decoder.decode(this.body.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }

  strings(n: number): (string | undefined)[] {
    const out: (string | undefined)[] = [];
    for (let i = 0; i < n; i++) out.push(this.string());
    return out;
  }
}

function kindOf(body: Uint8Array): StanzaKind {
  const kind = KINDS[body[3]];
  if (kind === undefined) throw new Error('bad stanza kind');
  return kind;
}

function decodeStanza(body: Uint8Array): StanzaFrame {
  const r = new StringReader(body);
  const kind = kindOf(body);
  const [target, from, to, stanzaType, id] = r.strings(5);
  if (target === undefined || from === undefined || to === undefined) throw new Error('stanza frame without addresses');
  const copy: FrameCopy = (body[2] & STANZA_SOLE) !== 0 ? 'sole' : (body[2] & STANZA_LATER) !== 0 ? 'later' : 'first';
  return { type: FRAME_STANZA, hops: body[1], copy, kind, target, from, to, stanzaType, id, bytes: body.subarray(r.at) };
}

function decodeAudience(body: Uint8Array): AudienceFrame {
  const r = new StringReader(body);
  const kind = kindOf(body);
  const [user, audience, from, to, stanzaType, id] = r.strings(6);
  if (user === undefined || audience === undefined || from === undefined || to === undefined) throw new Error('audience frame without addresses');
  const n = r.count();
  const except: string[] = [];
  for (let i = 0; i < n; i++) {
    const jid = r.string();
    if (jid === undefined) throw new Error('audience frame with an absent JID');
    except.push(jid);
  }
  const keepTo = (body[2] & AUDIENCE_KEEP_TO) !== 0;
  return { type: FRAME_AUDIENCE, hops: body[1], kind, user, audience, from, to, stanzaType, id, except, keepTo, bytes: body.subarray(r.at) };
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
