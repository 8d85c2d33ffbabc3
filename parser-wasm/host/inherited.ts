// Namespace declarations (and xml:lang) an element relies on but that were made outside
// its own bytes: on the stream header, or on an ancestor inside the same document. They
// must be re-declared on the element's start tag when it is copied or forwarded alone.

import * as C from '../shared/constants.ts';
import type { UnitReader } from './unit.ts';

/** prefix ('' for the default namespace) → URI, for every outside declaration in use. */
export function inheritedNamespaces(unit: UnitReader, elem: number): Map<string, string> {
  const out = new Map<string, string>();
  const start = unit.field(elem, C.RE_TAG_START);
  const last = elem === 0 ? unit.recordCount - 1 : unit.endOf(elem);
  for (let i = elem; i <= last; i++) {
    const k = unit.kind(i);
    let ref: number;
    let prefixLen: number;
    if (k === C.REC_ELEM) {
      ref = unit.field(i, C.RE_NS);
      prefixLen = unit.prefixLength(i, C.RE_NAME);
    } else if (k === C.REC_ATTR) {
      ref = unit.field(i, C.RA_NS);
      prefixLen = unit.prefixLength(i, C.RA_NAME);
      if (prefixLen === 0) continue; // unprefixed attributes never take a namespace
    } else {
      continue;
    }
    if (ref < C.NS_UNIT_BASE) continue; // none, xml, xmlns: nothing to declare
    if (ref >= C.NS_HEADER_BASE) {
      const decl = unit.owner.headerDeclarations[ref - C.NS_HEADER_BASE];
      out.set(decl.prefix, decl.uri);
      continue;
    }
    if (unit.declarationOffset(ref) >= start) continue; // declared inside the element
    const nameOff = k === C.REC_ELEM ? unit.field(i, C.RE_NAME_OFF) : unit.field(i, C.RA_NAME_OFF);
    out.set(prefixLen === 0 ? '' : unit.string(nameOff, prefixLen), unit.namespace(ref));
  }
  return out;
}

/** The xml:lang in effect for `elem` when it does not carry its own, if any. */
export function inheritedLang(unit: UnitReader, elem: number): string | undefined {
  for (let e = unit.field(elem, C.RE_PARENT); e >= 0; e = unit.field(e, C.RE_PARENT)) {
    const count = unit.attrCount(e);
    for (let a = e + 1; a <= e + count; a++) {
      if (unit.field(a, C.RA_NS) === C.NS_XML && unit.attrNameIs(a, 'xml:lang')) return unit.attrValue(a);
    }
  }
  return unit.owner.headerLang;
}
