// The wire format of links between clusters. Every frame is
//
//   u32 length of what follows | u8 type | body
//
//   HELLO (1): u8 version | u8 len, origin cluster | u8 len, boot id | u16 slot
//              First frame on every connection, from the dialling side.
//   DATA  (2): u32 seq | u8 ttl | u8 len, origin | u16 len, from | u16 len, to | stanza bytes
//              The stanza exactly as the sending cluster had it (its original bytes when it
//              passed through unchanged), with its routing facts beside it, so the receiver
//              needs no XML to route it.
//   ACK   (3): u32 seq — everything up to seq on this connection was routed by the receiver.
//
// seq numbers count per (origin boot, slot), across reconnections: the receiver drops a
// DATA frame it has already routed (a resend after a connection broke before its ACK).
// All integers are big-endian. Strings are UTF-8. A frame longer than MAX_FRAME closes the link.

export const FRAME_HELLO = 1;
export const FRAME_DATA = 2;
export const FRAME_ACK = 3;
export const PROTOCOL_VERSION = 1;
export const MAX_FRAME = 1024 * 1024;

export interface HelloFrame {
  type: typeof FRAME_HELLO;
  version: number;
  origin: string;
  boot: string;
  slot: number;
}

export interface DataFrame {
  type: typeof FRAME_DATA;
  seq: number;
  ttl: number;
  origin: string;
  from: string;
  to: string;
  stanza: Uint8Array;
}

export interface AckFrame {
  type: typeof FRAME_ACK;
  seq: number;
}

export type Frame = HelloFrame | DataFrame | AckFrame;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeHello(origin: string, boot: string, slot: number): Uint8Array {
  const o = encoder.encode(origin);
  const b = encoder.encode(boot);
  if (o.length > 255 || b.length > 255) throw new FrameError('hello field too long');
  const len = 1 + 1 + 1 + o.length + 1 + b.length + 2;
  const out = new Uint8Array(4 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  let p = 4;
  out[p++] = FRAME_HELLO;
  out[p++] = PROTOCOL_VERSION;
  out[p++] = o.length;
  out.set(o, p);
  p += o.length;
  out[p++] = b.length;
  out.set(b, p);
  p += b.length;
  dv.setUint16(p, slot);
  return out;
}

export function encodeAck(seq: number): Uint8Array {
  const out = new Uint8Array(9);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 5);
  out[4] = FRAME_ACK;
  dv.setUint32(5, seq >>> 0);
  return out;
}

/** A DATA frame; `stanza` may come in parts (a spliced zero-copy write) or as text. */
export function encodeData(seq: number, ttl: number, origin: string, from: string, to: string, stanza: Uint8Array[] | string): Uint8Array {
  const o = encoder.encode(origin);
  const f = encoder.encode(from);
  const t = encoder.encode(to);
  if (o.length > 255 || f.length > 0xffff || t.length > 0xffff) throw new FrameError('address too long');
  const parts = typeof stanza === 'string' ? [encoder.encode(stanza)] : stanza;
  let body = 0;
  for (const part of parts) body += part.length;
  const len = 1 + 4 + 1 + 1 + o.length + 2 + f.length + 2 + t.length + body;
  if (len > MAX_FRAME) throw new FrameError(`stanza too large for a link frame (${len} bytes)`);
  const out = new Uint8Array(4 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  let p = 4;
  out[p++] = FRAME_DATA;
  dv.setUint32(p, seq >>> 0);
  p += 4;
  out[p++] = ttl;
  out[p++] = o.length;
  out.set(o, p);
  p += o.length;
  dv.setUint16(p, f.length);
  p += 2;
  out.set(f, p);
  p += f.length;
  dv.setUint16(p, t.length);
  p += 2;
  out.set(t, p);
  p += t.length;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** Splits a byte stream into frames. Throws FrameError on a malformed or oversized frame. */
export class FrameDecoder {
  private buffer = new Uint8Array(0);

  /** Appends bytes and returns every complete frame they finish. */
  push(chunk: Uint8Array): Frame[] {
    let joined = chunk;
    if (this.buffer.length > 0) {
      joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer, 0);
      joined.set(chunk, this.buffer.length);
    }
    const frames: Frame[] = [];
    let p = 0;
    const dv = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
    while (joined.length - p >= 4) {
      const len = dv.getUint32(p);
      if (len < 1 || len > MAX_FRAME) throw new FrameError(`bad frame length ${len}`);
      if (joined.length - p - 4 < len) break;
      frames.push(decodeFrame(joined.subarray(p + 4, p + 4 + len)));
      p += 4 + len;
    }
    this.buffer = joined.slice(p);
    return frames;
  }

  get buffered(): number {
    return this.buffer.length;
  }
}

function decodeFrame(body: Uint8Array): Frame {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > body.length) throw new FrameError('truncated frame');
  };
  const str8 = (): string => {
    need(1);
    const n = body[p++]!;
    need(n);
    const s = decoder.decode(body.subarray(p, p + n));
    p += n;
    return s;
  };
  const str16 = (): string => {
    need(2);
    const n = dv.getUint16(p);
    p += 2;
    need(n);
    const s = decoder.decode(body.subarray(p, p + n));
    p += n;
    return s;
  };
  try {
    const type = body[p++];
    switch (type) {
      case FRAME_HELLO: {
        need(1);
        const version = body[p++]!;
        const origin = str8();
        const boot = str8();
        need(2);
        const slot = dv.getUint16(p);
        return { type: FRAME_HELLO, version, origin, boot, slot };
      }
      case FRAME_DATA: {
        need(5);
        const seq = dv.getUint32(p);
        p += 4;
        const ttl = body[p++]!;
        const origin = str8();
        const from = str16();
        const to = str16();
        // Copied: the decoder's buffer is reused for the next chunk.
        return { type: FRAME_DATA, seq, ttl, origin, from, to, stanza: body.slice(p) };
      }
      case FRAME_ACK:
        need(4);
        return { type: FRAME_ACK, seq: dv.getUint32(p) };
      default:
        throw new FrameError(`unknown frame type ${type}`);
    }
  } catch (err) {
    if (err instanceof FrameError) throw err;
    throw new FrameError(`malformed frame: ${(err as Error).message}`);
  }
}
