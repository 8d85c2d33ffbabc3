// The part of @xmpp/client 0.14 (which ships no types) that the end-to-end tests use.
declare module '@xmpp/client' {
  export interface XmlElement {
    name: string;
    attrs: Record<string, string>;
    children: Array<XmlElement | string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildren(name: string, xmlns?: string): XmlElement[];
    getChildText(name: string, xmlns?: string): string | null;
    toString(): string;
  }

  export interface Jid {
    local: string;
    domain: string;
    resource: string;
    bare(): Jid;
    toString(): string;
  }

  export interface Client {
    jid: Jid | null;
    start(): Promise<Jid>;
    stop(): Promise<void>;
    send(...stanzas: XmlElement[]): Promise<void>;
    isSecure(): boolean;
    on(event: 'stanza' | 'nonza', listener: (el: XmlElement) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'offline' | 'online' | 'disconnect', listener: (...args: unknown[]) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
    removeListener(event: string, listener: (...args: never[]) => void): this;
    reconnect: { stop(): void };
    iqCaller: { request(iq: XmlElement, timeout?: number): Promise<XmlElement> };
  }

  export type Authenticate = (credentials: { username: string; password: string }, mechanism: string) => Promise<void>;

  export interface ClientOptions {
    service?: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    credentials?: (authenticate: Authenticate, mechanisms: string[]) => Promise<void>;
  }

  export function client(options: ClientOptions): Client;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<XmlElement | string>): XmlElement;
}
