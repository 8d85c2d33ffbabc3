// Accepting side of the links between clusters. A peer dials in, proves itself with a
// certificate from the shared CA (refused otherwise, before any frame is read), says HELLO
// naming its cluster, which its certificate must name too (the link is closed otherwise,
// before any DATA frame is routed), then sends DATA frames from that cluster only. Each
// stanza is routed synchronously as its frame is decoded, and after every chunk read one
// ACK covers the frames routed so far, so the peer can forget them. A frame the peer
// resends after a broken connection (its ACK was lost) is recognised by its seq and
// acknowledged again without being routed twice.

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../server/log.ts';
import type { Packet } from '../../server/core/packet.ts';
import { encodeAck, FRAME_DATA, FRAME_HELLO, FrameDecoder, PROTOCOL_VERSION, type DataFrame, type HelloFrame } from './frame.ts';
import { StanzaReceiver } from './receiver.ts';
import { splitHostPort, type LinkTls } from './link-tls.ts';
import { certificateNamesCluster, describeNames, peerCertificateNames } from './link-identity.ts';

const HELLO_TIMEOUT_MS = 10_000;

export interface InboundOptions {
  endpoints: readonly string[];
  tls: LinkTls | undefined;
  log: Logger;
  /** Routes a stanza from a peer; runs synchronously while the packet's view is valid. */
  onStanza(packet: Packet, frame: DataFrame): void;
  /** A frame from `origin` was received (metrics). */
  onReceived?(origin: string): void;
  /** A peer claimed a cluster its certificate does not name; the link was closed (metrics). */
  onIdentityMismatch?(): void;
}

export class InboundLinks {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  /** Highest seq routed per (origin, slot), for the peer's current boot. */
  private readonly routed = new Map<string, { boot: string; seq: number }>();

  constructor(private readonly options: InboundOptions) {}

  async start(): Promise<void> {
    for (const endpoint of this.options.endpoints) {
      const { host, port } = splitHostPort(endpoint);
      const t = this.options.tls;
      const server = t === undefined
        ? net.createServer((socket) => this.accept(socket))
        : tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: true, rejectUnauthorized: true }, (socket) => this.accept(socket));
      if (t !== undefined) {
        server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
          this.options.log.warn('gd_link_refused', { remote: socket.remoteAddress, reason: err.message });
        });
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.options.log.warn('gd_link_listener_error', { endpoint, error: err }));
      this.servers.push(server);
    }
  }

  stop(): void {
    for (const s of this.servers) s.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private accept(socket: net.Socket): void {
    const log = this.options.log;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    let hello: HelloFrame | undefined;
    let receiver: StanzaReceiver | undefined;
    let key = '';
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    const fail = (what: string, context: Record<string, unknown>): void => {
      log.warn(what, { remote: socket.remoteAddress, origin: hello?.origin, ...context });
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        fail('gd_link_bad_frame', { error: err });
        return;
      }
      let ack = -1;
      for (const frame of frames) {
        if (hello === undefined) {
          if (frame.type !== FRAME_HELLO || frame.version !== PROTOCOL_VERSION) {
            fail('gd_link_bad_hello', {});
            return;
          }
          clearTimeout(helloTimer);
          if (this.options.tls !== undefined) {
            // Any cluster's certificate chains to the shared CA: only the name in it says
            // which cluster this peer is. Without this check a peer could claim another
            // cluster's name, and replies to its users would be routed to it.
            const names = peerCertificateNames(socket as tls.TLSSocket);
            if (!certificateNamesCluster(names, frame.origin)) {
              this.options.onIdentityMismatch?.();
              fail('gd_link_identity_mismatch', { claimed: frame.origin, certificate_names: describeNames(names) });
              return;
            }
          }
          hello = frame;
          key = `${frame.origin}\n${frame.slot}`;
          const known = this.routed.get(key);
          if (known === undefined || known.boot !== frame.boot) this.routed.set(key, { boot: frame.boot, seq: 0 });
          receiver = new StanzaReceiver((packet, data) => this.options.onStanza(packet, data));
          continue;
        }
        if (frame.type !== FRAME_DATA) {
          fail('gd_link_unexpected_frame', { type: frame.type });
          return;
        }
        if (frame.origin !== hello.origin) {
          // The receiver learns "sender → origin" from DATA frames: their origin is the
          // cluster this link was opened for, and no other.
          this.options.onIdentityMismatch?.();
          fail('gd_link_identity_mismatch', { claimed: frame.origin, seq: frame.seq });
          return;
        }
        const state = this.routed.get(key)!;
        if (frame.seq > state.seq) {
          this.options.onReceived?.(hello.origin);
          const result = receiver!.receive(frame);
          if (result === 'bad-stanza') {
            fail('gd_link_bad_stanza', { seq: frame.seq });
            return;
          }
          if (result === 'bad-address') log.warn('gd_link_bad_address', { origin: hello.origin, seq: frame.seq });
          state.seq = frame.seq;
        }
        ack = state.seq;
      }
      if (ack > 0) socket.write(encodeAck(ack));
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.sockets.delete(socket);
      receiver?.close();
    });
  }
}
