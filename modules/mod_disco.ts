// XEP-0030 service discovery for the server and for accounts, and the server's XEP-0115
// entity capabilities.
//
//   disco#info on the server: identity server/im and the features of every module loaded on
//     the host (ctx.features(), so a module appears exactly when it runs) plus whatever
//     disco_local_features handlers add.
//   disco#items on the server: what disco_local_items handlers add (components, services).
//   disco#info on a user's bare JID: identity account/registered and the features
//     disco_sm_features handlers add; disco#items there: none yet.
//
// Entity capabilities: the verification string of XEP-0115 §5 is computed from the same
// identity and features, and disco#info with node '<caps_node>#<ver>' answers like a plain
// disco#info. Announcing it in a <c/> element of the stream features is the c2s stream's
// business: serverCaps() gives the stream what it needs (node, ver, hash).

import { createHash } from 'node:crypto';
import { defineModule } from '../server/core/registry.ts';
import type { Hooks, DiscoItem } from '../server/core/hooks.ts';
import { makeJid, type Jid } from '../server/jid.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { StanzaError } from '../server/errors.ts';
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../server/ns.ts';
import { NS_CAPS } from '../server/ns.ts';
import { Element } from '../server/xml/element.ts';

export interface Identity {
  category: string;
  type: string;
  name?: string;
  lang?: string;
}

const schema = s.object({
  /** The name in the server's identity. */
  name: s.string().default('Meerkat'),
  /** XEP-0115 node: a URI naming the software. */
  caps_node: s.string().default('https://meerkat.invalid/caps'),
  /**
   * Whether local users see hidden services (components from a hidden_components listener)
   * in the server's disco#items. Others (components, servers) always see them.
   */
  users_can_see_hidden_services: s.bool().default(true),
});

type Options = Infer<typeof schema>;

export interface ServerCaps {
  readonly node: string;
  readonly hash: 'sha-1';
  readonly ver: string;
}

const running = new WeakMap<Hooks, Map<string, () => ServerCaps>>();

/** The server's entity capabilities on a host, computed from what is loaded now (undefined without mod_disco). */
export function serverCaps(hooks: Hooks, host: string): ServerCaps | undefined {
  return running.get(hooks)?.get(host)?.();
}

export const modDisco = defineModule<Options>({
  name: 'mod_disco',
  xeps: ['XEP-0030', 'XEP-0115'],
  defaults: schema.parse({}, ['modules', 'mod_disco']),
  schema,
  start(host, opts, ctx) {
    ctx.addFeature(NS_DISCO_INFO);
    ctx.addFeature(NS_DISCO_ITEMS);
    const identity: Identity = { category: 'server', type: 'im', name: opts.name };

    const serverFeatures = (from: Jid, node: string): string[] => {
      const args = { host, from, node, features: ctx.features() };
      ctx.hooks.run('disco_local_features', host, args);
      return [...new Set(args.features)].sort();
    };
    const caps = (from: Jid): ServerCaps => ({ node: opts.caps_node, hash: 'sha-1', ver: capsVerification([identity], serverFeatures(from, '')) });

    let hosts = running.get(ctx.hooks);
    if (hosts === undefined) running.set(ctx.hooks, (hosts = new Map()));
    const self = makeJid('', host);
    const own = () => caps(self);
    hosts.set(host, own);
    ctx.onStop(() => {
      if (hosts.get(host) === own) hosts.delete(host);
    });

    // XEP-0115 §6.3: the server's own capabilities in stream features, so a client can skip
    // the disco#info round trip when it has seen this verification string before.
    ctx.addHook('c2s_stream_features', ({ features }) => {
      const { node, hash, ver } = own();
      features.push(new Element('c', { xmlns: NS_CAPS, hash, node, ver }));
    });

    ctx.addIqHandler('local', NS_DISCO_INFO, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'disco#info is an IQ get' });
      const node = req.payload.attrs.node;
      if (node !== undefined) {
        const { ver } = caps(req.from);
        // Only the caps node is known here; other nodes belong to other handlers.
        if (node !== `${opts.caps_node}#${ver}`) return new StanzaError('item-not-found');
      }
      return infoElement(node, [identity], serverFeatures(req.from, ''));
    });

    ctx.addIqHandler('local', NS_DISCO_ITEMS, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'disco#items is an IQ get' });
      const node = req.payload.attrs.node;
      const args = { host, from: req.from, node: node ?? '', items: [] as DiscoItem[] };
      ctx.hooks.run('disco_local_items', host, args);
      const requesterIsLocalUser = req.from.local !== '' && ctx.router.isLocal(req.from.domain);
      const hideHidden = requesterIsLocalUser && !opts.users_can_see_hidden_services;
      const q = new Element('query', { xmlns: NS_DISCO_ITEMS, node });
      for (const item of args.items) {
        if (item.hidden && hideHidden) continue;
        q.c('item', { jid: item.jid, node: item.node, name: item.name });
      }
      return q;
    });

    ctx.addIqHandler('sm', NS_DISCO_INFO, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'disco#info is an IQ get' });
      const node = req.payload.attrs.node;
      const args = { to: req.to, from: req.from, node: node ?? '', features: [NS_DISCO_INFO, NS_DISCO_ITEMS] };
      ctx.hooks.run('disco_sm_features', host, args);
      if (node !== undefined && args.features.length === 2) return new StanzaError('item-not-found');
      return infoElement(node, [{ category: 'account', type: 'registered' }], [...new Set(args.features)].sort());
    });

    ctx.addIqHandler('sm', NS_DISCO_ITEMS, 'query', (req) => {
      if (req.type !== 'get') return new StanzaError('bad-request', { text: 'disco#items is an IQ get' });
      return new Element('query', { xmlns: NS_DISCO_ITEMS, node: req.payload.attrs.node });
    });
  },
});

function infoElement(node: string | undefined, identities: Identity[], features: string[]): Element {
  const q = new Element('query', { xmlns: NS_DISCO_INFO, node });
  for (const i of identities) q.c('identity', { category: i.category, type: i.type, name: i.name, 'xml:lang': i.lang });
  for (const f of features) q.c('feature', { var: f });
  return q;
}

const encoder = new TextEncoder();

/** XEP-0115 sorts by octets of the UTF-8 form ("i;octet"), which UTF-16 comparison does not match for every character. */
function byOctets(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** XEP-0115 §5.1 verification string (no extended forms), SHA-1, base64. */
export function capsVerification(identities: Identity[], features: string[]): string {
  let text = '';
  const ids = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ''}/${i.name ?? ''}`).sort(byOctets);
  for (const id of ids) text += id + '<';
  for (const f of [...new Set(features)].sort(byOctets)) text += f + '<';
  return createHash('sha1').update(text, 'utf8').digest('base64');
}
