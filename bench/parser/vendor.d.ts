// Just enough typing for the untyped packages the parser benchmark drives.

declare module 'ltx/src/parsers/ltx.js' {
  import { EventEmitter } from 'node:events';
  export default class SaxLtx extends EventEmitter {
    write(data: string): void;
    end(data?: string): void;
  }
}

declare module '@xmpp/xml' {
  import { EventEmitter } from 'node:events';
  export class Parser extends EventEmitter {
    write(data: string): void;
    end(data?: string): void;
  }
}

declare module 'sax' {
  interface SaxParser {
    onerror: (error: Error) => void;
    onopentag: (tag: never) => void;
    onclosetag: (name: string) => void;
    ontext: (text: string) => void;
    write(data: string): SaxParser;
    close(): SaxParser;
  }
  const sax: { parser(strict: boolean, options: { xmlns: boolean }): SaxParser };
  export default sax;
}

declare module 'node-expat' {
  import { EventEmitter } from 'node:events';
  export class Parser extends EventEmitter {
    constructor(encoding: string);
    write(data: Uint8Array | string): boolean;
    end(): boolean;
    getError(): string;
  }
}
