// Builds the StreamHeader (and the header's namespace declarations, which later stanzas
// resolve against) when the tokenizer reports a stream open.

import * as C from '../shared/constants.ts';
import type { StreamHeader, XmlAttribute } from './types.ts';
import { readAttribute } from './stanza-view.ts';
import { decodeUtf8 } from './decode.ts';
import type { NamespaceDeclaration, UnitReader } from './unit.ts';

export function readHeader(unit: UnitReader): StreamHeader {
  const name = unit.qname(0, C.RE_NAME_OFF, C.RE_NAME);
  const p = unit.prefixLength(0, C.RE_NAME);
  const attrs: XmlAttribute[] = [];
  const namespaces = new Map<string, string>();
  const count = unit.attrCount(0);
  for (let a = 1; a <= count; a++) {
    const attr = readAttribute(unit, a);
    attrs.push(attr);
    if (attr.name === 'xmlns') namespaces.set('', attr.value);
    else if (attr.prefix === 'xmlns') namespaces.set(attr.local, attr.value);
  }
  return {
    name,
    local: p === 0 ? name : name.slice(p + 1),
    ns: unit.namespace(unit.field(0, C.RE_NS)),
    attrs,
    namespaces,
    attr(n: string): string | undefined {
      for (const a of attrs) if (a.name === n) return a.value;
      return undefined;
    },
  };
}

/** The header block the tokenizer keeps: declarations in the order it resolves them. */
export function readHeaderDeclarations(unit: UnitReader): NamespaceDeclaration[] {
  const i32 = unit.instance.i32;
  const block = i32[(unit.stream >> 2) + C.S_HEADER];
  if (block === 0) return [];
  const count = i32[(block >> 2) + C.HB_DECL_COUNT];
  const out: NamespaceDeclaration[] = [];
  for (let i = 0; i < count; i++) {
    const d = (block >> 2) + C.HB_DECLS + i * C.HB_DECL_I32;
    const prefixAt = block + i32[d];
    const uriAt = block + i32[d + 2];
    out.push({
      prefix: decodeUtf8(unit.instance, prefixAt, prefixAt + i32[d + 1]),
      uri: decodeUtf8(unit.instance, uriAt, uriAt + i32[d + 3]),
    });
  }
  return out;
}
