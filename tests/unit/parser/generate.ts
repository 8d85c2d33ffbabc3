// Deterministic random well-formed XML for the property tests: namespaces (default and
// prefixed, declared at random depths), the five entities, character references, CDATA,
// CJK and emoji, CR LF, whitespace in attribute values. Seeded, so a failure names the
// seed that reproduces it.

export interface GenerateOptions {
  /** CDATA sections in text. */
  cdata?: boolean;
  /** Raw TAB/LF/CR in attribute values and CR in text (normalized by conforming parsers). */
  rawWhitespace?: boolean;
  maxDepth?: number;
}

export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

const NAMES = ['message', 'body', 'x', 'item', 'query', '日本', 'émoji', 'a-b.c', 'q_1', 'z'];
const ATTRS = ['to', 'from', 'id', 'type', 'a', 'b', 'värde', 'k-1'];
const PREFIXES = ['p', 'q', 'ns1', 'é'];
const URIS = ['urn:a', 'urn:b', 'jabber:client', 'http://example.com/ns?x=1&amp;y=2', 'urn:日本', 'urn:a'];

function textPiece(r: Random, o: GenerateOptions, inAttr: string | undefined): string {
  const plain = ['hi', ' ', 'café', '日本語', '🙂', 'a>b', ']]', ']', 'x y', '0'];
  const refs = ['&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#65;', '&#x1F600;', '&#233;', '&#x3042;', '&#10;', '&#13;', '&#9;'];
  const k = r.int(10);
  if (k < 5) return r.pick(plain);
  if (k < 8) return r.pick(refs);
  if (inAttr !== undefined) {
    if (k === 8) return inAttr === "'" ? '"' : "'";
    return o.rawWhitespace ? r.pick(['\t', '\n', '\r\n', '\r']) : ' ';
  }
  if (k === 8) return o.cdata ? `<![CDATA[${r.pick(['<a>&amp;', ']', ']]', ' x ', '🙂', ''])}]]>` : '&amp;';
  return o.rawWhitespace ? r.pick(['\r\n', '\r', '\n', '\t']) : '\n';
}

interface Scope {
  prefixes: string[];
}

/** One element tree as XML text. Iterative over an explicit work list. */
export function generateElement(r: Random, o: GenerateOptions = {}, inherited: Scope = { prefixes: [] }): string {
  const maxDepth = o.maxDepth ?? 4;
  let out = '';
  // Work items: open an element at a depth with a scope, or write a closing tag.
  const work: Array<{ close?: string; depth: number; scope: Scope }> = [{ depth: 1, scope: inherited }];
  while (work.length > 0) {
    const item = work.pop()!;
    if (item.close !== undefined) {
      out += item.close;
      continue;
    }
    const scope: Scope = { prefixes: [...item.scope.prefixes] };
    const decls: string[] = [];
    if (r.chance(0.3)) decls.push(` xmlns='${r.pick(URIS)}'`);
    if (r.chance(0.3)) {
      const p = r.pick(PREFIXES);
      decls.push(` xmlns:${p}="${r.pick(URIS)}"`);
      if (!scope.prefixes.includes(p)) scope.prefixes.push(p);
    }
    const prefix = scope.prefixes.length > 0 && r.chance(0.3) ? r.pick(scope.prefixes) + ':' : '';
    const name = prefix + r.pick(NAMES);
    let attrs = '';
    // Unique by expanded name: each local name at most once per namespace choice
    const used = new Set<string>();
    const n = r.int(4);
    for (let i = 0; i < n; i++) {
      const local = r.pick(ATTRS);
      const ap = scope.prefixes.length > 0 && r.chance(0.25) ? r.pick(scope.prefixes) : '';
      const key = (ap ? 'prefixed:' : '') + local;
      if (used.has(key)) continue;
      used.add(key);
      const q = r.chance(0.5) ? "'" : '"';
      let value = '';
      const pieces = r.int(4);
      for (let j = 0; j < pieces; j++) value += textPiece(r, o, q);
      attrs += ` ${ap ? ap + ':' : ''}${local}=${q}${value}${q}`;
    }
    if (r.chance(0.2)) attrs += ` xml:lang='${r.pick(['en', 'fr', 'ja'])}'`;
    const ordered = r.chance(0.5) ? decls.join('') + attrs : attrs + decls.join('');
    const childCount = item.depth >= maxDepth ? 0 : r.int(4);
    if (childCount === 0 && r.chance(0.5)) {
      out += `<${name}${ordered}${r.chance(0.2) ? ' ' : ''}/>`;
      continue;
    }
    out += `<${name}${ordered}>`;
    work.push({ close: `</${name}${r.chance(0.1) ? ' ' : ''}>`, depth: item.depth, scope });
    // Children pushed in reverse so they come out in order; text between them.
    const kids: Array<{ depth: number; scope: Scope } | { close: string; depth: number; scope: Scope }> = [];
    for (let i = 0; i < childCount; i++) {
      if (r.chance(0.6)) {
        let t = '';
        const pieces = 1 + r.int(3);
        for (let j = 0; j < pieces; j++) t += textPiece(r, o, undefined);
        kids.push({ close: t, depth: item.depth, scope });
      }
      kids.push({ depth: item.depth + 1, scope });
    }
    if (r.chance(0.5)) kids.push({ close: textPiece(r, o, undefined), depth: item.depth, scope });
    for (let i = kids.length - 1; i >= 0; i--) work.push(kids[i]);
  }
  return out;
}

export const STREAM_HEADER =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' xmlns:p='urn:header-p' xml:lang='en' to='example.com' version='1.0'>";

/** A c2s stream: header, stanzas (some using the header's prefixes), keepalives, maybe the close. */
export function generateStream(r: Random, o: GenerateOptions = {}, stanzas = 1 + r.int(4)): string {
  let out = r.chance(0.3) ? "<?xml version='1.0'?>" : '';
  out += STREAM_HEADER;
  for (let i = 0; i < stanzas; i++) {
    if (r.chance(0.3)) out += r.pick([' ', '\n', '\r\n', '\t  ']);
    out += generateElement(r, o, { prefixes: ['p', 'stream'] });
  }
  if (r.chance(0.5)) out += '</stream:stream>';
  return out;
}
