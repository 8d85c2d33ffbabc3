// One direction of talk between two workers over a unix-domain socket: frames out, batched
// per event-loop turn (many stanzas forwarded in one turn become one write), and frames in.
//
// The outbound queue is bounded (rule 10): past maxQueuedBytes, send() refuses and the caller
// returns the stanza as an error instead of buffering without end.

import type { TcpConnection } from '../runtime/types.ts';
import { FrameReader } from './frames.ts';

export interface LinkEvents {
  frame(body: Uint8Array): void;
  closed(error?: Error): void;
}

export class WorkerLink {
  private readonly conn: TcpConnection;
  private readonly reader = new FrameReader();
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private readonly maxQueuedBytes: number;

  constructor(conn: TcpConnection, events: LinkEvents, maxQueuedBytes = 32 * 1024 * 1024) {
    this.conn = conn;
    this.maxQueuedBytes = maxQueuedBytes;
    conn.attach({
      data: (bytes) => {
        if (this.closed) return;
        try {
          this.reader.push(bytes, events.frame);
        } catch (err) {
          this.close();
          events.closed(err as Error);
        }
      },
      drain: () => {},
      close: (error) => {
        if (this.closed) return;
        this.closed = true;
        events.closed(error);
      },
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Queues one encoded frame; false (nothing queued) when the link is closed or too far behind. */
  send(frame: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.conn.queuedBytes + this.batchBytes + frame.length > this.maxQueuedBytes) return false;
    this.batch.push(frame);
    this.batchBytes += frame.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return true;
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0 || this.closed) return;
    const frames = this.batch;
    this.batch = [];
    let out: Uint8Array;
    if (frames.length === 1) out = frames[0];
    else {
      out = new Uint8Array(this.batchBytes);
      let at = 0;
      for (const f of frames) {
        out.set(f, at);
        at += f.length;
      }
    }
    this.batchBytes = 0;
    this.conn.write(out);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.conn.end();
  }
}
