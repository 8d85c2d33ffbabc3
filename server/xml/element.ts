// A small mutable XML element tree for stanzas the server builds or keeps.
//
// Namespaces follow the way XMPP software writes them: a namespace is declared with an
// `xmlns` attribute and inherited by children, so `ns` walks up the parent chain. Trees
// built from the tokenizer's output carry an `xmlns` on every element whose namespace
// differs from its parent's, so they serialize on their own, detached from the stream.
//
// Nothing here recurses on input-controlled depth: serialization and copying use an
// explicit stack, so a deep tree cannot overflow the call stack.

import { escapeAttribute, escapeText } from './escape.ts';

export type XmlNode = Element | string;

export class Element {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  parent: Element | undefined;

  constructor(name: string, attrs?: Record<string, string | number | undefined | null>, children?: XmlNode[]) {
    this.name = name;
    this.attrs = {};
    if (attrs) {
      for (const key in attrs) {
        const value = attrs[key];
        if (value !== undefined && value !== null) this.attrs[key] = String(value);
      }
    }
    this.children = [];
    this.parent = undefined;
    if (children) for (const child of children) this.append(child);
  }

  /** Namespace URI in scope for this element (its own `xmlns`, else the nearest ancestor's). */
  get ns(): string {
    const prefix = this.prefix;
    const key = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
    for (let el: Element | undefined = this; el; el = el.parent) {
      const v = el.attrs[key];
      if (v !== undefined) return v;
    }
    return '';
  }

  get prefix(): string {
    const colon = this.name.indexOf(':');
    return colon < 0 ? '' : this.name.slice(0, colon);
  }

  get localName(): string {
    const colon = this.name.indexOf(':');
    return colon < 0 ? this.name : this.name.slice(colon + 1);
  }

  is(localName: string, ns?: string): boolean {
    return this.localName === localName && (ns === undefined || this.ns === ns);
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  setAttr(name: string, value: string | number | undefined | null): this {
    if (value === undefined || value === null) delete this.attrs[name];
    else this.attrs[name] = String(value);
    return this;
  }

  append(child: XmlNode): this {
    if (typeof child !== 'string') {
      if (child.parent) child.parent.remove(child);
      child.parent = this;
    } else if (child === '') {
      return this;
    }
    this.children.push(child);
    return this;
  }

  /** Appends a new child element and returns it (builder style: `iq.c('query', { xmlns })`). */
  c(name: string, attrs?: Record<string, string | number | undefined | null>): Element {
    const child = new Element(name, attrs);
    this.append(child);
    return child;
  }

  /** Appends text and returns this element. */
  t(text: string): this {
    return this.append(text);
  }

  /** Returns the parent (builder style: `.c('a').t('x').up()`). */
  up(): Element {
    return this.parent ?? this;
  }

  root(): Element {
    let el: Element = this;
    while (el.parent) el = el.parent;
    return el;
  }

  remove(child: XmlNode): this {
    const i = this.children.indexOf(child);
    if (i >= 0) {
      this.children.splice(i, 1);
      if (typeof child !== 'string') child.parent = undefined;
    }
    return this;
  }

  get elements(): Element[] {
    const out: Element[] = [];
    for (const c of this.children) if (typeof c !== 'string') out.push(c);
    return out;
  }

  getChild(localName: string, ns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== 'string' && c.is(localName, ns)) return c;
    }
    return undefined;
  }

  getChildren(localName: string, ns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c !== 'string' && c.is(localName, ns)) out.push(c);
    }
    return out;
  }

  /** Concatenated direct text children. */
  get text(): string {
    let s = '';
    for (const c of this.children) if (typeof c === 'string') s += c;
    return s;
  }

  getChildText(localName: string, ns?: string): string | undefined {
    return this.getChild(localName, ns)?.text;
  }

  /** Deep copy, detached from any parent. The copy's root keeps the namespace it had in scope. */
  clone(): Element {
    const rootCopy = new Element(this.name, { ...this.attrs });
    if (rootCopy.attrs.xmlns === undefined && this.prefix === '') {
      const ns = this.ns;
      if (ns) rootCopy.attrs.xmlns = ns;
    }
    const stack: Array<[Element, Element]> = [[this, rootCopy]];
    while (stack.length > 0) {
      const [src, dst] = stack.pop()!;
      for (const c of src.children) {
        if (typeof c === 'string') {
          dst.children.push(c);
        } else {
          const copy = new Element(c.name, { ...c.attrs });
          copy.parent = dst;
          dst.children.push(copy);
          stack.push([c, copy]);
        }
      }
    }
    return rootCopy;
  }

  toString(): string {
    return serialize(this);
  }
}

/** Serializes an element tree to XML text. Iterative: tree depth cannot exhaust the stack. */
export function serialize(root: Element): string {
  let out = '';
  // Each frame is an element plus the index of the next child to write.
  const stack: Array<{ el: Element; i: number }> = [];
  const open = (el: Element): boolean => {
    out += '<' + el.name;
    for (const key in el.attrs) out += ' ' + key + "='" + escapeAttribute(el.attrs[key]) + "'";
    if (el.children.length === 0) {
      out += '/>';
      return false;
    }
    out += '>';
    return true;
  };
  if (!open(root)) return out;
  stack.push({ el: root, i: 0 });
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (frame.i >= frame.el.children.length) {
      out += '</' + frame.el.name + '>';
      stack.pop();
      continue;
    }
    const child = frame.el.children[frame.i++];
    if (typeof child === 'string') out += escapeText(child);
    else if (open(child)) stack.push({ el: child, i: 0 });
  }
  return out;
}

/** Shorthand builder: `xml('message', { to }, xml('body', {}, 'hi'))`. */
export function xml(name: string, attrs?: Record<string, string | number | undefined | null> | null, ...children: Array<XmlNode | XmlNode[] | undefined | null | false>): Element {
  const el = new Element(name, attrs ?? undefined);
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) for (const cc of c) el.append(cc);
    else el.append(c);
  }
  return el;
}
