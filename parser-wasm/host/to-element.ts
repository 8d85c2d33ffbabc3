// Builds a detached Element tree from a unit's records. Iterative: the records are in
// document order, so a stack of open elements is all it takes, whatever the depth.

import * as C from '../shared/constants.ts';
import { Element } from '../../server/xml/element.ts';
import { decodeText } from './decode.ts';
import { inheritedNamespaces } from './inherited.ts';
import type { UnitReader } from './unit.ts';

function attributesOf(unit: UnitReader, elem: number): Record<string, string> {
  const attrs: Record<string, string> = {};
  const count = unit.attrCount(elem);
  for (let a = elem + 1; a <= elem + count; a++) attrs[unit.qname(a, C.RA_NAME_OFF, C.RA_NAME)] = unit.attrValue(a);
  return attrs;
}

function newElement(unit: UnitReader, elem: number, parent: Element | undefined): Element {
  const el = new Element(unit.qname(elem, C.RE_NAME_OFF, C.RE_NAME));
  el.attrs = attributesOf(unit, elem);
  if (parent) {
    el.parent = parent;
    parent.children.push(el);
  }
  return el;
}

export function buildElement(unit: UnitReader, elem: number): Element {
  const root = newElement(unit, elem, undefined);
  for (const [prefix, uri] of inheritedNamespaces(unit, elem)) {
    const key = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
    if (root.attrs[key] === undefined) root.attrs[key] = uri;
  }
  const stack: Element[] = [root];
  for (let i = elem + 1 + unit.attrCount(elem); i < unit.recordCount; i++) {
    const kind = unit.kind(i);
    const top = stack[stack.length - 1];
    if (kind === C.REC_ELEM) {
      stack.push(newElement(unit, i, top));
      i += unit.attrCount(i);
    } else if (kind === C.REC_TEXT) {
      const start = unit.base + unit.field(i, C.RT_OFF);
      const text = decodeText(unit.instance, start, start + unit.field(i, C.RT_LEN), unit.field(i, C.RT_FLAGS));
      const n = top.children.length;
      // Text, CDATA and references next to each other form one string child.
      if (n > 0 && typeof top.children[n - 1] === 'string') top.children[n - 1] += text;
      else if (text !== '') top.children.push(text);
    } else if (kind === C.REC_END) {
      stack.pop();
      if (stack.length === 0) break;
    }
  }
  return root;
}
