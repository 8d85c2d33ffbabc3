// XEP-0054 vcard-temp: a user stores one vCard (kept as XML text) and anyone may read it.
//   - get on one's own account with nothing stored → an empty <vCard/> (§3.1 allows it, and
//     clients creating a first vCard expect it); on another account → <service-unavailable/>,
//     the answer the router gives for an account that does not exist (§3.3 wants both cases
//     to look the same, so vCards cannot be used to probe which accounts exist).
//   - set only on one's own account (<forbidden/> otherwise); a vCard over max_size bytes is
//     refused with <not-acceptable/> (the XEP names no condition for this; not-acceptable
//     is what the data-size errors of XEP-0049 and other stores use, and clients show its text).

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_VCARD } from '../server/ns.ts';
import { Element, serialize } from '../server/xml/element.ts';
import { StanzaError } from '../server/errors.ts';
import { parseStoredElement, utf8Length } from './stored-xml.ts';

const schema = s.object({
  /** Largest vCard stored, in bytes of XML (photos make vCards big). */
  max_size: s.int({ min: 1 }).default(64 * 1024),
});
type Options = Infer<typeof schema>;

export const VCARD_KV_NAMESPACE = 'mod_vcard';
const VCARD_KV_KEY = 'vcard';

export const modVcard = defineModule<Options>({
  name: 'mod_vcard',
  xeps: ['XEP-0054'],
  defaults: schema.parse({}, ['modules', 'mod_vcard']),
  schema,
  start(host, opts, ctx) {
    const kv = ctx.storage.kv;
    ctx.addFeature(NS_VCARD);
    ctx.addIqHandler('sm', NS_VCARD, 'vCard', async (req) => {
      const owner = req.to.bare();
      const own = req.from.bare().equals(owner);
      if (req.type === 'set') {
        if (!own) return new StanzaError('forbidden', { text: 'only your own vCard can be changed' });
        const vcard = req.payload.clone();
        vcard.attrs = { xmlns: NS_VCARD };
        const text = serialize(vcard);
        if (utf8Length(text) > opts.max_size) {
          return new StanzaError('not-acceptable', { text: `the vCard is larger than ${opts.max_size} bytes` });
        }
        await kv.set(host, owner.local, VCARD_KV_NAMESPACE, VCARD_KV_KEY, text);
        return null;
      }
      const stored = await kv.get(host, owner.local, VCARD_KV_NAMESPACE, VCARD_KV_KEY);
      const vcard = stored === undefined ? undefined : parseStoredElement(stored);
      if (vcard !== undefined) return vcard;
      if (stored !== undefined) ctx.logger.warn('vcard_unreadable', { user: owner.toString() });
      return own ? new Element('vCard', { xmlns: NS_VCARD }) : new StanzaError('service-unavailable');
    });
  },
});
