// One interface for the three client transports the benchmark compares. A transport
// carries one XMPP stream: it opens it, restarts it after SASL, writes stanzas and reports
// every top-level element the server sends, as text.

export interface Transport {
  readonly name: TransportName;
  /** Called for each element the server sends (features, SASL, stanzas). */
  onElement: (xml: string) => void;
  /** Opens the stream (TCP header, WebSocket <open/>, BOSH session creation). */
  open(): Promise<void>;
  /** Stream restart after SASL success. */
  restart(): void;
  send(xml: string): void;
  /** Ends the stream (TCP </stream:stream>, WebSocket <close/>, BOSH terminate). */
  close(): Promise<void>;
}

export type TransportName = 'tcp' | 'websocket' | 'bosh';

export interface Endpoint {
  host: string;
  c2sPort: number;
  httpPort: number;
}
