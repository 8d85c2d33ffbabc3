// XEP-0049 Private XML Storage: a user keeps XML fragments on the server, one per namespace
// of the fragment's root element, readable and writable only by that user.
//   - requests for another account → <forbidden/> (§3, "preferable" to service-unavailable);
//   - a query without a child, or data in a reserved jabber:* namespace → <not-acceptable/>;
//   - a get names exactly one namespace; a set may carry several fragments;
//   - a get for a namespace with nothing stored returns the empty element it asked for.

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_PRIVATE } from '../server/ns.ts';
import { serialize, xml, type Element } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';
import { parseStoredElement, utf8Length } from './stored-xml.ts';

const schema = s.object({
  /** Largest fragment stored per namespace, in bytes of XML. */
  max_size: s.int({ min: 1 }).default(64 * 1024),
});
type Options = Infer<typeof schema>;

export const PRIVATE_KV_NAMESPACE = 'mod_private';

function isReserved(ns: string): boolean {
  return ns === '' || ns.startsWith('jabber:');
}

export const modPrivate = defineModule<Options>({
  name: 'mod_private',
  xeps: ['XEP-0049'],
  defaults: schema.parse({}, ['modules', 'mod_private']),
  schema,
  start(host, opts, ctx) {
    const kv = ctx.storage.kv;
    ctx.addIqHandler('sm', NS_PRIVATE, 'query', async (req) => {
      const owner = req.to.bare();
      if (!req.from.bare().equals(owner)) return new StanzaError('forbidden', { text: 'private storage of another account' });
      const fragments = req.payload.elements;
      if (fragments.length === 0) return new StanzaError('not-acceptable', { text: 'name the namespace of the data' });
      if (fragments.some((f) => isReserved(f.ns))) return new StanzaError('not-acceptable', { text: 'jabber:* namespaces are reserved' });

      if (req.type === 'get') {
        if (fragments.length !== 1) return new StanzaError('not-acceptable', { text: 'ask for one namespace at a time' });
        const wanted = fragments[0];
        const stored = await kv.get(host, owner.local, PRIVATE_KV_NAMESPACE, wanted.ns);
        const found = stored === undefined ? undefined : parseStoredElement(stored);
        return xml('query', { xmlns: NS_PRIVATE }, found ?? fresh(wanted));
      }

      // Validate everything before storing anything: a set is all or nothing.
      const texts = new Map<string, string>();
      for (const fragment of fragments) {
        const text = serialize(rooted(fragment));
        if (utf8Length(text) > opts.max_size) {
          return new StanzaError('not-acceptable', { text: `stored data is limited to ${opts.max_size} bytes per namespace` });
        }
        // Several fragments in one namespace: the last one wins, as with separate sets.
        texts.set(fragment.ns, text);
      }
      for (const [ns, text] of texts) await kv.set(host, owner.local, PRIVATE_KV_NAMESPACE, ns, text);
      return null;
    });
  },
});

/** A detached copy that declares its own namespace. */
function rooted(fragment: Element): Element {
  const copy = fragment.clone();
  copy.attrs.xmlns = fragment.ns;
  return copy;
}

/** The empty element a get asked with, echoed when nothing is stored. */
function fresh(wanted: Element): Element {
  return xml(wanted.name, { xmlns: wanted.ns });
}
