// RFC 6455 framing for the tests' hand-written WebSocket clients (those that must choose
// their source address or client certificate, which no WebSocket library here lets them):
// masked client frames out, server frames in, split anywhere by TCP.

import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';

export const OPCODE_TEXT = 0x1;
export const OPCODE_CLOSE = 0x8;

/** A masked client frame (RFC 6455 §5.2), FIN set. */
export function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  let header: Buffer;
  if (len < 126) header = Buffer.from([0x80 | opcode, 0x80 | len]);
  else if (len < 65536) header = Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

export interface ServerFrame {
  opcode: number;
  payload: Buffer;
}

/** Collects bytes from the server and returns the frames they complete. */
export class ServerFrameReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Uint8Array): ServerFrame[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const frames: ServerFrame[] = [];
    for (;;) {
      if (this.buffer.length < 2) break;
      const opcode = this.buffer[0]! & 0x0f;
      let len = this.buffer[1]! & 0x7f;
      let at = 2;
      if (len === 126) {
        if (this.buffer.length < 4) break;
        len = this.buffer.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) break;
        len = Number(this.buffer.readBigUInt64BE(2));
        at = 10;
      }
      if (this.buffer.length < at + len) break;
      frames.push({ opcode, payload: this.buffer.subarray(at, at + len) });
      this.buffer = this.buffer.subarray(at + len);
    }
    return frames;
  }
}

/**
 * Sends the opening handshake for the `xmpp` subprotocol on a connected socket; resolves
 * with the bytes that followed the 101 response (the first frames), or rejects with the
 * status line of a refusal (the socket is then destroyed).
 */
export function upgradeToXmpp(socket: Duplex, path: string, host: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n`);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const status = head.subarray(0, end).toString('latin1').split('\r\n')[0]!;
      if (!/^HTTP\/1\.1 101/.test(status)) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${status}`));
        return;
      }
      resolve(head.subarray(end + 4));
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}
