// The part of @xmpp/component 0.13 (which ships no types) that the end-to-end tests use.
declare module '@xmpp/component' {
  import type { XmlElement } from '@xmpp/client';

  export interface IqContext {
    stanza: XmlElement;
    from: { toString(): string };
  }

  export interface Component {
    start(): Promise<unknown>;
    stop(): Promise<void>;
    send(...stanzas: XmlElement[]): Promise<void>;
    on(event: 'stanza', listener: (el: XmlElement) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'online' | 'offline', listener: (...args: unknown[]) => void): this;
    reconnect: { stop(): void };
    iqCallee: { get(ns: string, name: string, handler: (ctx: IqContext) => XmlElement | boolean): void };
  }

  export function component(options: { service: string; domain: string; password: string }): Component;
  export function xml(name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<XmlElement | string>): XmlElement;
}
