// Shared stanza bookkeeping for the JavaScript peers, which report elements as SAX-style
// open/text/close events. Depth counts open elements: the stream root is depth 1, so a
// close that brings the depth back to 1 has finished a stanza.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { StreamResult } from './adapter.ts';

/** Tokenize mode: count stanzas, nothing else. */
export class StanzaCounter {
  depth = 0;
  stanzas = 0;

  open(): void {
    this.depth++;
  }

  close(): void {
    if (--this.depth === 1) this.stanzas++;
  }
}

export interface TreeNode<A> {
  name: string;
  attrs: A;
  children: (TreeNode<A> | string)[];
}

/** Reads one attribute from a parser's own attribute representation. */
export type AttrReader<A> = (attrs: A, name: string) => string | undefined;

/**
 * Route mode for parsers without an element type of their own: builds a plain
 * name + attributes + text tree per stanza, then reads what a router reads from it.
 * Attributes stay in the parser's own shape, so no adapter pays for a conversion.
 */
export class StanzaTreeBuilder<A> {
  depth = 0;
  stanzas = 0;
  ids = 0;
  textUnits = 0;
  /** Router reads are summed here so the work cannot be optimized away. */
  routed = 0;
  last: TreeNode<A> | undefined;
  private readonly stack: TreeNode<A>[] = [];

  constructor(private readonly readAttr: AttrReader<A>) {}

  open(name: string, attrs: A): void {
    if (this.depth++ === 0) return;
    const node: TreeNode<A> = { name, attrs, children: [] };
    const parent = this.stack[this.stack.length - 1];
    if (parent) parent.children.push(node);
    this.stack.push(node);
  }

  text(value: string): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) return;
    top.children.push(value);
    this.textUnits += value.length;
  }

  close(): void {
    if (--this.depth === 0) return;
    const node = this.stack.pop() as TreeNode<A>;
    if (this.depth === 1) this.route(node);
  }

  private route(node: TreeNode<A>): void {
    this.stanzas++;
    const id = this.readAttr(node.attrs, 'id');
    if (id !== undefined) this.ids++;
    this.routed += node.name.length + (this.readAttr(node.attrs, 'type')?.length ?? 0)
      + (this.readAttr(node.attrs, 'to')?.length ?? 0) + (this.readAttr(node.attrs, 'from')?.length ?? 0);
    this.last = node;
  }

  result(): StreamResult {
    keep(this.routed);
    return { stanzas: this.stanzas, ids: this.ids, textUnits: this.textUnits };
  }
}

let kept = 0;

/** Folds a value into a module-level sink so the engine cannot drop the work behind it. */
export function keep(value: number): void {
  kept = (kept + value) | 0;
}

export function keptValue(): number {
  return kept;
}

export const readRecord: AttrReader<Record<string, string>> = (attrs, name) => attrs[name];

/**
 * Socket bytes to strings for parsers that take strings. A streaming decoder carries a
 * character split across chunks over to the next call, as a real connection must.
 */
export function streamDecoder(): (chunk: Uint8Array) => string {
  const decoder = new TextDecoder('utf-8');
  return (chunk) => decoder.decode(chunk, { stream: true });
}

/** "name@version" of an installed package, looked up from the working directory upwards. */
export function packageVersion(name: string): string {
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return name + '@' + (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return name;
  }
}
