// Read access to the records of the unit (stanza, header or document root) the tokenizer
// just handed out. Each stream has one UnitReader, re-pointed at every event (no allocation
// per stanza); it is only meaningful until the stream's next run. Views check their own
// generation against the stream's before every read, so a view kept past its callback
// fails loudly instead of reading another stanza's bytes.

import * as C from '../shared/constants.ts';
import { decodeAttributeValue, decodeUtf8 } from './decode.ts';
import type { TokenizerInstance } from './wasm.ts';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

export interface NamespaceDeclaration {
  prefix: string;
  uri: string;
}

/** What a unit needs from its stream. */
export interface UnitOwner {
  readonly generation: number;
  readonly headerDeclarations: readonly NamespaceDeclaration[];
  readonly headerLang: string | undefined;
}

export class UnitReader {
  /** Memory views, re-read in refresh() if a handler's other tokenizer calls grew memory. */
  u8: Uint8Array;
  i32: Int32Array;
  /** Linear-memory address of the unit's first byte. */
  base = 0;
  /** Int32 index of record 0. */
  records = 0;
  recordCount = 0;
  /** Stream offset of the unit's first byte. */
  offset = 0;

  constructor(
    readonly owner: UnitOwner,
    readonly instance: TokenizerInstance,
    /** Stream struct pointer. */
    readonly stream: number,
  ) {
    this.u8 = instance.u8;
    this.i32 = instance.i32;
  }

  /** Points the reader at the unit the tokenizer just reported. */
  load(): void {
    const instance = this.instance;
    const i32 = instance.i32;
    const s = this.stream >> 2;
    const unitStart = i32[s + C.S_UNIT_START];
    this.u8 = instance.u8;
    this.i32 = i32;
    this.base = i32[s + C.S_BUF + C.V_PTR] + unitStart;
    this.records = i32[s + C.S_REC + C.V_PTR] >> 2;
    this.recordCount = i32[s + C.S_REC + C.V_LEN] >> 5;
    this.offset = instance.f64[(this.stream + C.S_BASE_BYTE) >> 3] + unitStart;
  }

  /** Re-reads the memory views when growth detached them (a handler fed another stream). */
  refresh(): void {
    if (this.u8.byteLength === 0) {
      this.u8 = this.instance.u8;
      this.i32 = this.instance.i32;
    }
  }

  field(index: number, field: number): number {
    return this.i32[this.records + index * C.REC_I32 + field];
  }

  kind(index: number): number {
    return this.i32[this.records + index * C.REC_I32] & 0xff;
  }

  attrCount(elem: number): number {
    return this.i32[this.records + elem * C.REC_I32] >>> 8;
  }

  /** Decodes unit bytes [off, off + len). */
  string(off: number, len: number): string {
    return decodeUtf8(this.instance, this.base + off, this.base + off + len);
  }

  qname(index: number, offField: number, nameField: number): string {
    return this.string(this.field(index, offField), this.field(index, nameField) & 0xffff);
  }

  prefixLength(index: number, nameField: number): number {
    return this.field(index, nameField) >>> 16;
  }

  attrValue(attr: number): string {
    const r = this.records + attr * C.REC_I32;
    const i32 = this.i32;
    const start = this.base + i32[r + C.RA_VALUE_OFF];
    return decodeAttributeValue(this.instance, start, start + i32[r + C.RA_VALUE_LEN], i32[r + C.RA_FLAGS]);
  }

  /** True when attribute record `attr`'s qualified name equals `name` (compared as bytes). */
  attrNameIs(attr: number, name: string): boolean {
    const packed = this.field(attr, C.RA_NAME);
    const len = packed & 0xffff;
    if (len !== name.length) return false;
    const u8 = this.u8;
    const start = this.base + this.field(attr, C.RA_NAME_OFF);
    for (let i = 0; i < len; i++) if (u8[start + i] !== name.charCodeAt(i)) return false;
    return true;
  }

  /** The URI a namespace reference stands for. */
  namespace(ref: number): string {
    if (ref === C.NS_NONE) return '';
    if (ref === C.NS_XML) return XML_NS;
    if (ref === C.NS_XMLNS) return XMLNS_NS;
    if (ref >= C.NS_HEADER_BASE) return this.owner.headerDeclarations[ref - C.NS_HEADER_BASE].uri;
    const i32 = this.i32;
    const s = this.stream >> 2;
    const entry = (i32[s + C.S_URIS + C.V_PTR] >> 2) + (ref - C.NS_UNIT_BASE) * C.URI_I32;
    const off = i32[entry + 1];
    const len = i32[entry + 2];
    const from = i32[entry] === C.URI_AUX ? i32[s + C.S_AUX + C.V_PTR] : this.base;
    return decodeUtf8(this.instance, from + off, from + off + len);
  }

  /** Unit offset of the `xmlns…` attribute that declared a unit-level reference. */
  declarationOffset(ref: number): number {
    const i32 = this.i32;
    const entry = (i32[(this.stream >> 2) + C.S_URIS + C.V_PTR] >> 2) + (ref - C.NS_UNIT_BASE) * C.URI_I32;
    return i32[entry + 3];
  }

  /** Index of the attribute record of `elem` named `name` (qualified, as written), or -1. */
  findAttr(elem: number, name: string): number {
    const i32 = this.i32;
    const u8 = this.u8;
    const n = name.length;
    let r = this.records + elem * C.REC_I32;
    const count = i32[r] >>> 8;
    for (let a = 1; a <= count; a++) {
      r += C.REC_I32;
      if ((i32[r + C.RA_NAME] & 0xffff) !== n) continue;
      const start = this.base + i32[r + C.RA_NAME_OFF];
      let i = 0;
      while (i < n && u8[start + i] === name.charCodeAt(i)) i++;
      if (i === n) return elem + a;
    }
    return -1;
  }

  /** Index of the END record of element `elem`. */
  endOf(elem: number): number {
    if (elem === 0) return this.recordCount - 1;
    let depth = 0;
    for (let i = elem; i < this.recordCount; i++) {
      const k = this.kind(i);
      if (k === C.REC_ELEM) depth++;
      else if (k === C.REC_END && --depth === 0) return i;
    }
    return this.recordCount - 1;
  }
}
