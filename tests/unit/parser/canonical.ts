// A parser-independent form of an element tree for comparisons: resolved namespace and
// local name of each element and attribute, attribute values, text with adjacent pieces
// merged. Namespace declarations themselves are left out: where they are written may
// differ (re-declared on a forwarded stanza) while the meaning is the same.

export type Canon = { ns: string; local: string; attrs: string[]; children: Array<Canon | string> };

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Anything shaped like server/xml Element or an ltx Element. */
export interface TreeNode {
  name: string;
  attrs: Record<string, string>;
  children: Array<TreeNode | string>;
  parent?: TreeNode | null;
}

function lookup(node: TreeNode | null | undefined, prefix: string): string {
  if (prefix === 'xml') return XML_NS;
  const key = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
  for (let n = node; n; n = n.parent) {
    const v = n.attrs[key];
    if (v !== undefined) return v;
  }
  return '';
}

function split(qname: string): [string, string] {
  const i = qname.indexOf(':');
  return i < 0 ? ['', qname] : [qname.slice(0, i), qname.slice(i + 1)];
}

function pushText(children: Array<Canon | string>, text: string): void {
  if (text === '') return;
  const n = children.length;
  if (n > 0 && typeof children[n - 1] === 'string') children[n - 1] += text;
  else children.push(text);
}

export function canonFromTree(root: TreeNode): Canon {
  const make = (el: TreeNode): Canon => {
    const [prefix, local] = split(el.name);
    const attrs: string[] = [];
    for (const [k, v] of Object.entries(el.attrs)) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
      const [ap, al] = split(k);
      attrs.push(`{${ap === '' ? '' : lookup(el, ap)}}${al}=${v}`);
    }
    attrs.sort();
    return { ns: lookup(el, prefix), local, attrs, children: [] };
  };
  const top = make(root);
  const stack: Array<[TreeNode, Canon]> = [[root, top]];
  while (stack.length > 0) {
    const [el, c] = stack.pop()!;
    for (const child of el.children) {
      if (typeof child === 'string') pushText(c.children, child);
      else {
        const cc = make(child);
        c.children.push(cc);
        stack.push([child, cc]);
      }
    }
  }
  return top;
}

/** Builds Canon trees from saxes events (xmlns: true). */
export class SaxesCanonBuilder {
  readonly roots: Canon[] = [];
  private stack: Canon[] = [];
  open(tag: { local: string; uri: string; attributes: Record<string, { uri: string; local: string; value: string; prefix: string }> }): void {
    const attrs: string[] = [];
    for (const a of Object.values(tag.attributes)) {
      if (a.prefix === 'xmlns' || (a.prefix === '' && a.local === 'xmlns')) continue;
      attrs.push(`{${a.uri}}${a.local}=${a.value}`);
    }
    attrs.sort();
    const c: Canon = { ns: tag.uri, local: tag.local, attrs, children: [] };
    if (this.stack.length > 0) this.stack[this.stack.length - 1].children.push(c);
    this.stack.push(c);
  }
  text(t: string): void {
    if (this.stack.length > 0) pushText(this.stack[this.stack.length - 1].children, t);
  }
  close(): void {
    const c = this.stack.pop()!;
    if (this.stack.length === 0) this.roots.push(c);
  }
  /** The outermost element still open (a stream root that was never closed). */
  get openRoot(): Canon | undefined {
    return this.stack[0];
  }
}
