// The lazy StanzaView: reads names, attributes and bytes straight from the tokenizer's
// records and decodes strings only when asked.

import * as C from '../shared/constants.ts';
import type { Element } from '../../server/xml/element.ts';
import type { StanzaView, XmlAttribute } from './types.ts';
import type { UnitReader } from './unit.ts';
import { buildElement } from './to-element.ts';
import { spliceAttributes, type SpliceOptions } from './splice.ts';

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

const STALE_VIEW = 'StanzaView used after its callback returned; keep data with toElement() or copyRaw()';

export class RecordStanzaView implements StanzaView {
  private cachedName: string | undefined;
  private cachedNs: string | undefined;

  constructor(
    readonly unit: UnitReader,
    readonly elem: number,
    /** The stream generation this view belongs to; reads in any other generation throw. */
    private generation: number,
  ) {}

  /**
   * @internal The stream hands out one view object for every top-level stanza: this points
   * it at the next one. A reference kept from an earlier callback is the same object, so
   * the lifetime rule (valid only during the callback) is what keeps data apart.
   */
  reuse(generation: number): void {
    this.generation = generation;
    this.cachedName = undefined;
    this.cachedNs = undefined;
  }

  /** Every public entry point calls this first. */
  private check(): UnitReader {
    const unit = this.unit;
    if (this.generation !== unit.owner.generation) throw new Error(STALE_VIEW);
    unit.refresh();
    return unit;
  }

  get name(): string {
    const unit = this.check();
    this.cachedName ??= unit.qname(this.elem, C.RE_NAME_OFF, C.RE_NAME);
    return this.cachedName;
  }

  get prefix(): string {
    const name = this.name;
    const p = this.unit.prefixLength(this.elem, C.RE_NAME);
    return p === 0 ? '' : name.slice(0, p);
  }

  get local(): string {
    const name = this.name;
    const p = this.unit.prefixLength(this.elem, C.RE_NAME);
    return p === 0 ? name : name.slice(p + 1);
  }

  get ns(): string {
    const unit = this.check();
    this.cachedNs ??= unit.namespace(unit.field(this.elem, C.RE_NS));
    return this.cachedNs;
  }

  attr(name: string): string | undefined {
    const unit = this.check();
    const a = unit.findAttr(this.elem, name);
    if (a >= 0) return unit.attrValue(a);
    // Names with non-ASCII characters cannot match byte-for-char above; compare decoded.
    if (!isAscii(name)) {
      const count = unit.attrCount(this.elem);
      for (let b = this.elem + 1; b <= this.elem + count; b++) {
        if (unit.qname(b, C.RA_NAME_OFF, C.RA_NAME) === name) return unit.attrValue(b);
      }
    }
    return undefined;
  }

  get attrs(): XmlAttribute[] {
    const unit = this.check();
    const out: XmlAttribute[] = [];
    const count = unit.attrCount(this.elem);
    for (let a = this.elem + 1; a <= this.elem + count; a++) out.push(readAttribute(unit, a));
    return out;
  }

  get raw(): Uint8Array {
    const unit = this.check();
    const start = unit.base + unit.field(this.elem, C.RE_TAG_START);
    return unit.u8.subarray(start, unit.base + unit.field(this.elem, C.RE_ELEM_END));
  }

  get offset(): number {
    const unit = this.check();
    return unit.offset + unit.field(this.elem, C.RE_TAG_START);
  }

  copyRaw(): Uint8Array {
    return this.raw.slice();
  }

  children(): StanzaView[] {
    const unit = this.check();
    const out: StanzaView[] = [];
    let depth = 0;
    for (let i = this.elem + 1 + unit.attrCount(this.elem); i < unit.recordCount; i++) {
      const k = unit.kind(i);
      if (k === C.REC_ELEM) {
        if (depth === 0) out.push(new RecordStanzaView(unit, i, this.generation));
        depth++;
        i += unit.attrCount(i);
      } else if (k === C.REC_END) {
        if (depth === 0) break;
        depth--;
      }
    }
    return out;
  }

  toElement(): Element {
    return buildElement(this.check(), this.elem);
  }

  spliceAttributes(set: Record<string, string | undefined>, options?: SpliceOptions): Uint8Array[] {
    return spliceAttributes(this.check(), this.elem, set, options);
  }
}

export function readAttribute(unit: UnitReader, a: number): XmlAttribute {
  const name = unit.qname(a, C.RA_NAME_OFF, C.RA_NAME);
  const p = unit.prefixLength(a, C.RA_NAME);
  return {
    name,
    prefix: p === 0 ? '' : name.slice(0, p),
    local: p === 0 ? name : name.slice(p + 1),
    ns: unit.namespace(unit.field(a, C.RA_NS)),
    value: unit.attrValue(a),
  };
}
