// RFC 7395 client: one element per text frame.

import type { Endpoint, Transport } from '../transport.ts';

const FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

export class WebSocketTransport implements Transport {
  readonly name = 'websocket' as const;
  onElement: (xml: string) => void = () => {};
  private ws: WebSocket | undefined;

  constructor(private readonly endpoint: Endpoint) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${this.endpoint.host}:${this.endpoint.httpPort}/ws-xmpp`, 'xmpp');
      ws.onopen = () => {
        this.header();
        resolve();
      };
      ws.onerror = () => reject(new Error('websocket: connection failed'));
      ws.onmessage = (e) => {
        const frame = String(e.data);
        if (!frame.startsWith('<open ') && !frame.startsWith('<close ')) this.onElement(frame);
      };
      this.ws = ws;
    });
  }

  restart(): void {
    this.header();
  }

  send(xml: string): void {
    this.ws!.send(xml);
  }

  async close(): Promise<void> {
    const ws = this.ws!;
    if (ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.onclose = () => resolve();
      ws.send(`<close xmlns='${FRAMING}'/>`);
      setTimeout(() => ws.close(), 2_000);
    });
  }

  private header(): void {
    this.ws!.send(`<open xmlns='${FRAMING}' to='localhost' version='1.0'/>`);
  }
}
