// Plain TCP client stream (a loopback listener with tls = "none", so that the three
// transports are compared without encryption).

import net from 'node:net';
import { ElementReader } from '../elements.ts';
import type { Endpoint, Transport } from '../transport.ts';

export class TcpTransport implements Transport {
  readonly name = 'tcp' as const;
  onElement: (xml: string) => void = () => {};
  private socket: net.Socket | undefined;
  private readonly reader = new ElementReader((xml) => this.onElement(xml));

  constructor(private readonly endpoint: Endpoint) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.endpoint.host, port: this.endpoint.c2sPort, noDelay: true }, () => {
        this.header();
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.reader.feed(chunk));
      socket.on('error', reject);
      this.socket = socket;
    });
  }

  restart(): void {
    this.reader.reset();
    this.header();
  }

  send(xml: string): void {
    this.socket!.write(xml);
  }

  async close(): Promise<void> {
    const socket = this.socket!;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end('</stream:stream>');
      setTimeout(() => socket.destroy(), 2_000).unref();
    });
    this.reader.free();
  }

  private header(): void {
    this.socket!.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>`);
  }
}
