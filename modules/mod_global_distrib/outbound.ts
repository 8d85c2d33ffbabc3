// Dialling side of the links to one peer cluster: `slots` connections, opened when there is
// something to send. A stanza goes on the slot chosen by a hash of (from, to), so one
// sender's stanzas to one recipient travel one connection and keep their order.
//
// Nothing is lost silently: every DATA frame stays in its slot's unacknowledged list until
// the peer's ACK covers it. When a connection breaks, the slot reconnects and sends the
// list again, in order (the peer drops what it had already routed). A frame still
// unacknowledged after delivery_timeout, or refused because the peer has too many waiting,
// is handed to onUndeliverable, which returns it to its sender as an error.
//
// With TLS, the peer's certificate must name the cluster being dialled, whatever endpoint
// Redis gave for it: a server holding another cluster's certificate (or an endpoint entry
// rewritten to point elsewhere) is refused before anything is sent, and the slot retries
// like after any failed connection, until delivery_timeout returns its frames.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../server/log.ts';
import { encodeData, encodeHello, FRAME_ACK, FrameDecoder } from './frame.ts';
import { splitHostPort, type LinkTls } from './link-tls.ts';
import { certificateNamesCluster, describeNames, readCertificateNames } from './link-identity.ts';

export interface PendingFrame {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly queuedAt: number;
  readonly from: string;
  readonly to: string;
}

export interface PeerLinkOptions {
  peer: string;
  origin: string;
  boot: string;
  slots: number;
  tls: LinkTls | undefined;
  deliveryTimeoutMs: number;
  maxPending: number;
  resolveEndpoints(peer: string): Promise<string[]>;
  onUndeliverable(frame: PendingFrame, reason: string): void;
  /** The endpoint reached presented a certificate not naming the peer (metrics). */
  onIdentityMismatch?(): void;
  log: Logger;
  now?: () => number;
}

type SlotState = 'idle' | 'connecting' | 'open';

class Slot {
  state: SlotState = 'idle';
  socket: net.Socket | undefined;
  nextSeq = 1;
  /** Unacknowledged frames in seq order, from index `head`. */
  frames: PendingFrame[] = [];
  head = 0;
  failures = 0;
  retryTimer: ReturnType<typeof setTimeout> | undefined;

  get size(): number {
    return this.frames.length - this.head;
  }

  dropThrough(seq: number): void {
    while (this.head < this.frames.length && this.frames[this.head]!.seq <= seq) this.head++;
    this.compact();
  }

  compact(): void {
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }
}

export class PeerLink {
  private readonly slots: Slot[] = [];
  private closed = false;
  private endpoints: string[] = [];
  private readonly now: () => number;

  constructor(private readonly options: PeerLinkOptions) {
    for (let i = 0; i < options.slots; i++) this.slots.push(new Slot());
    this.now = options.now ?? Date.now;
  }

  get peer(): string {
    return this.options.peer;
  }

  /** Stanzas waiting for this peer's acknowledgement. */
  get pending(): number {
    let n = 0;
    for (const s of this.slots) n += s.size;
    return n;
  }

  get openConnections(): number {
    return this.slots.filter((s) => s.state === 'open').length;
  }

  /**
   * Queues one stanza for the peer; its bytes are copied now (they may point into tokenizer
   * memory). False when the peer already has max_pending stanzas waiting.
   */
  send(ttl: number, from: string, to: string, stanza: Uint8Array[] | string): boolean {
    if (this.closed || this.pending >= this.options.maxPending) return false;
    const slot = this.slots[slotFor(from, to, this.slots.length)]!;
    const seq = slot.nextSeq++;
    const bytes = encodeData(seq, ttl, this.options.origin, from, to, stanza);
    slot.frames.push({ seq, bytes, queuedAt: this.now(), from, to });
    if (slot.state === 'open') slot.socket!.write(bytes);
    else if (slot.state === 'idle' && slot.retryTimer === undefined) this.connect(slot);
    return true;
  }

  /** Returns frames older than delivery_timeout to their senders. */
  expire(): void {
    const limit = this.now() - this.options.deliveryTimeoutMs;
    for (const slot of this.slots) {
      while (slot.size > 0 && slot.frames[slot.head]!.queuedAt < limit) {
        const frame = slot.frames[slot.head++]!;
        this.options.onUndeliverable(frame, slot.state === 'open' ? 'not acknowledged in time' : 'peer unreachable');
      }
      slot.compact();
    }
  }

  /** Closes every connection; frames still waiting are returned to their senders. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots) {
      clearTimeout(slot.retryTimer);
      slot.socket?.destroy();
      while (slot.size > 0) this.options.onUndeliverable(slot.frames[slot.head++]!, 'link closed');
      slot.frames = [];
      slot.head = 0;
    }
  }

  private connect(slot: Slot): void {
    if (this.closed) return;
    slot.state = 'connecting';
    void this.pickEndpoint(slot).then((endpoint) => {
      if (this.closed) return;
      if (endpoint === undefined) {
        slot.failures++;
        this.retryLater(slot, 'no endpoints known');
        return;
      }
      this.dial(slot, endpoint);
    });
  }

  private async pickEndpoint(slot: Slot): Promise<string | undefined> {
    if (this.endpoints.length === 0 || slot.failures > 0) {
      try {
        const fresh = await this.options.resolveEndpoints(this.options.peer);
        if (fresh.length > 0) this.endpoints = fresh;
      } catch (err) {
        this.options.log.debug('gd_endpoints_lookup_failed', { peer: this.options.peer, error: err });
      }
    }
    if (this.endpoints.length === 0) return undefined;
    return this.endpoints[(this.slots.indexOf(slot) + slot.failures) % this.endpoints.length];
  }

  private dial(slot: Slot, endpoint: string): void {
    const { host, port } = splitHostPort(endpoint);
    const t = this.options.tls;
    const socket: net.Socket = t === undefined
      ? net.connect({ host, port })
      : tls.connect({
        host, port, cert: t.clientCert, key: t.clientKey, ca: t.ca, rejectUnauthorized: true,
        servername: net.isIP(host) ? undefined : host,
        // The identity that matters is the cluster's, not the endpoint's address (which
        // came from Redis, and may be a proxy or NAT address).
        checkServerIdentity: (_host, cert) => this.checkPeerIdentity(endpoint, cert.raw),
      });
    slot.socket = socket;
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    const opened = (): void => {
      if (slot.socket !== socket) return;
      slot.state = 'open';
      slot.failures = 0;
      socket.cork();
      socket.write(encodeHello(this.options.origin, this.options.boot, this.slots.indexOf(slot)));
      for (let i = slot.head; i < slot.frames.length; i++) socket.write(slot.frames[i]!.bytes);
      socket.uncork();
      this.options.log.info('gd_link_up', { peer: this.options.peer, endpoint, slot: this.slots.indexOf(slot) });
    };
    socket.once(t === undefined ? 'connect' : 'secureConnect', opened);
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        this.options.log.warn('gd_link_bad_frame', { peer: this.options.peer, error: err });
        socket.destroy();
        return;
      }
      for (const f of frames) if (f.type === FRAME_ACK) slot.dropThrough(f.seq);
    });
    socket.on('error', (err: Error) => {
      this.options.log.debug('gd_link_error', { peer: this.options.peer, endpoint, error: err.message });
    });
    socket.on('close', () => {
      if (slot.socket !== socket) return;
      const wasOpen = slot.state === 'open';
      slot.socket = undefined;
      slot.state = 'idle';
      if (wasOpen) this.options.log.info('gd_link_down', { peer: this.options.peer, endpoint });
      slot.failures++;
      if (slot.size > 0) this.retryLater(slot, 'connection closed');
    });
  }

  private checkPeerIdentity(endpoint: string, der: Uint8Array | undefined): Error | undefined {
    const names = der === undefined ? undefined : readCertificateNames(der);
    if (certificateNamesCluster(names, this.options.peer)) return undefined;
    this.options.onIdentityMismatch?.();
    this.options.log.warn('gd_link_identity_mismatch', { peer: this.options.peer, endpoint, certificate_names: describeNames(names) });
    return new Error(`the certificate at ${endpoint} does not name cluster ${this.options.peer}`);
  }

  private retryLater(slot: Slot, why: string): void {
    slot.state = 'idle';
    if (this.closed || slot.retryTimer !== undefined) return;
    const delay = Math.min(50 * 2 ** Math.min(slot.failures, 5), 1000);
    this.options.log.debug('gd_link_retry', { peer: this.options.peer, why, delay });
    slot.retryTimer = setTimeout(() => {
      slot.retryTimer = undefined;
      if (slot.state === 'idle' && slot.size > 0) this.connect(slot);
    }, delay);
  }
}

/** FNV-1a over from and to: the same pair always picks the same slot. */
export function slotFor(from: string, to: string, slots: number): number {
  if (slots <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < from.length; i++) h = Math.imul(h ^ from.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0x0a, 0x01000193);
  for (let i = 0; i < to.length; i++) h = Math.imul(h ^ to.charCodeAt(i), 0x01000193);
  return (h >>> 0) % slots;
}
