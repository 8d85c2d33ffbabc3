// SIP transports (RFC 3261 §18): UDP (one datagram, one message) and TCP (a framed stream,
// connections reused in both directions). Responses go back where the request came from:
// over the same connection on TCP, to the source address and port on UDP (the rport
// behaviour of RFC 3581, which is what works through NAT).

import type { Runtime, TcpConnection } from '../../../server/runtime/types.ts';
import { SipStreamFramer } from './framing.ts';

export interface Peer {
  readonly address: string;
  readonly port: number;
}

export type InboundHandler = (bytes: Uint8Array, peer: Peer, reply: (data: string) => void) => void;

export interface SipTransport {
  readonly protocol: 'UDP' | 'TCP';
  /** Reliable transports skip retransmissions (timers A, E, G) and zero the wait timers. */
  readonly reliable: boolean;
  readonly port: number;
  send(data: string, peer: Peer): void;
  close(): void;
}

export interface TransportOptions {
  protocol: 'udp' | 'tcp';
  hostname: string;
  port: number;
  /** Bound on open TCP connections; new ones beyond it are refused. */
  maxConnections?: number;
  onError?: (what: string, detail: Record<string, unknown>) => void;
}

export async function openTransport(runtime: Runtime, options: TransportOptions, onMessage: InboundHandler): Promise<SipTransport> {
  if (options.protocol === 'udp') {
    const socket = await runtime.bindUdp({ hostname: options.hostname, port: options.port }, (data, port, address) => {
      const peer = { address, port };
      onMessage(data, peer, (reply) => socket.send(reply, port, address));
    });
    return {
      protocol: 'UDP',
      reliable: false,
      port: socket.port,
      send: (data, peer) => { socket.send(data, peer.port, peer.address); },
      close: () => socket.close(),
    };
  }
  return openTcpTransport(runtime, options, onMessage);
}

async function openTcpTransport(runtime: Runtime, options: TransportOptions, onMessage: InboundHandler): Promise<SipTransport> {
  const maxConnections = options.maxConnections ?? 256;
  const connections = new Map<string, TcpConnection>();
  const connecting = new Map<string, Array<string>>();
  const keyOf = (p: Peer): string => `${p.address}|${p.port}`;

  const adopt = (conn: TcpConnection, peer: Peer): void => {
    const key = keyOf(peer);
    connections.set(key, conn);
    const framer = new SipStreamFramer();
    const reply = (data: string): void => { conn.write(data); };
    conn.attach({
      data(bytes) {
        const { frames, error } = framer.push(bytes);
        for (const f of frames) onMessage(f, peer, reply);
        if (error !== undefined) {
          options.onError?.('sip_tcp_framing_error', { peer: key, error });
          conn.destroy();
        }
      },
      drain() {},
      close() {
        if (connections.get(key) === conn) connections.delete(key);
      },
    });
  };

  const listener = await runtime.listenTcp({ hostname: options.hostname, port: options.port }, (conn) => {
    if (connections.size >= maxConnections) {
      conn.destroy();
      return;
    }
    adopt(conn, { address: conn.remoteAddress, port: conn.remotePort });
  });

  return {
    protocol: 'TCP',
    reliable: true,
    port: listener.port,
    send(data, peer) {
      const key = keyOf(peer);
      const open = connections.get(key);
      if (open) {
        open.write(data);
        return;
      }
      const queue = connecting.get(key);
      if (queue) {
        queue.push(data);
        return;
      }
      if (connections.size >= maxConnections) {
        options.onError?.('sip_tcp_too_many_connections', { peer: key });
        return;
      }
      const pending = [data];
      connecting.set(key, pending);
      runtime.connectTcp({ hostname: peer.address, port: peer.port }).then(
        (conn) => {
          connecting.delete(key);
          adopt(conn, peer);
          for (const d of pending) conn.write(d);
        },
        (err: unknown) => {
          connecting.delete(key);
          options.onError?.('sip_tcp_connect_failed', { peer: key, error: String(err) });
        },
      );
    },
    close() {
      listener.stop();
      for (const c of connections.values()) c.destroy();
      connections.clear();
    },
  };
}
