// Writes stanza markup while keeping the totals the adapters are checked against: how many
// stanzas, how many carry an id, how many UTF-16 units of decoded text sit inside stanzas,
// and how many bytes the stanzas take. Knowing the decoded text length lets the tree mode
// catch a parser that mangles a character split across two chunks.

import type { Random } from './random.ts';

export type Attrs = Record<string, string | undefined>;

export interface CorpusTotals {
  stanzas: number;
  ids: number;
  textUnits: number;
  stanzaBytes: number;
}

const utf8 = new TextEncoder();

export class Markup {
  readonly totals: CorpusTotals = { stanzas: 0, ids: 0, textUnits: 0, stanzaBytes: 0 };
  private readonly parts: string[] = [];

  constructor(private readonly random: Random) {}

  /** Raw markup outside any stanza (XML declaration, stream header and footer). */
  raw(markup: string): void {
    this.parts.push(markup);
  }

  /** Appends one depth-1 element built by `el`. */
  stanza(markup: string, hasId: boolean): void {
    this.parts.push(markup);
    this.totals.stanzas++;
    if (hasId) this.totals.ids++;
    this.totals.stanzaBytes += utf8.encode(markup).length;
  }

  el(name: string, attrs: Attrs, ...children: string[]): string {
    let tag = '<' + name;
    for (const key in attrs) {
      const value = attrs[key];
      if (value === undefined) continue;
      // Both quote styles occur in the wild; parsers must handle either.
      const quote = this.random.chance(0.5) ? "'" : '"';
      tag += ' ' + key + '=' + quote + escapeAttribute(value, quote) + quote;
    }
    if (children.length === 0) return tag + '/>';
    return tag + '>' + children.join('') + '</' + name + '>';
  }

  /** Escaped character data; counts its decoded length. */
  text(value: string): string {
    this.totals.textUnits += value.length;
    let out = '';
    for (const char of value) {
      if (char === '&') out += '&amp;';
      else if (char === '<') out += '&lt;';
      else if (char === '>') out += '&gt;';
      else if (char.length === 2 && this.random.chance(0.15)) {
        // Some clients send astral characters as character references.
        out += '&#x' + (char.codePointAt(0) as number).toString(16).toUpperCase() + ';';
      } else out += char;
    }
    return out;
  }

  toBytes(): Uint8Array {
    return utf8.encode(this.parts.join(''));
  }
}

function escapeAttribute(value: string, quote: string): string {
  let out = value.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  out = quote === "'" ? out.replaceAll("'", '&apos;') : out.replaceAll('"', '&quot;');
  return out;
}

export function utf8Length(value: string): number {
  return utf8.encode(value).length;
}
