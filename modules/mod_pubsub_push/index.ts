// mod_pubsub_push: a minimal app server inside Meerkat (XEP-0357's "app server" role, like
// MongooseIM's virtual pubsub hosts), so a deployment can take push notifications without a
// separate pubsub service. It serves one domain (default pubsub.<host>) through a domain
// route and understands only what push needs:
//
//   create         <pubsub><create node='…'?/></pubsub>   a local user creates a push node
//                  (a node name is generated when none is given); the user owns it
//   publish        <pubsub><publish node='…'><item><notification xmlns='urn:xmpp:push:0'/>…
//                  accepted from the owner's account only (the owner's server publishes
//                  from the user's bare JID); unknown node → item-not-found, anyone else
//                  → forbidden
//   items          <pubsub><items node='…'/></pubsub> (get, owner only): the last few
//   delete         <pubsub xmlns='…#owner'><delete node='…'/></pubsub> (owner only)
//   disco#info     identity pubsub/push, features
//
// Anything else that asks for an answer gets service-unavailable (or feature-not-implemented
// for another pubsub request); results and errors addressed here are dropped, never answered.
// Published notifications are observable in process (pushNodeService(hooks, domain).onPublish)
// for whatever hands them to a platform gateway, and fetchable by the owner.

import { randomBytes } from 'node:crypto';
import { defineModule } from '../../server/core/registry.ts';
import type { Hooks } from '../../server/core/hooks.ts';
import { Packet } from '../../server/core/packet.ts';
import { StanzaError } from '../../server/errors.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { NS_DATA_FORMS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB, NS_PUSH } from '../../server/ns.ts';
import { Element } from '../../server/xml/element.ts';
import { PushNodes, type PushItem } from './nodes.ts';

export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';

const schema = s.object({
  /** The service's domain; @HOST@ stands for the XMPP host it serves. */
  host: s.string({ pattern: /^[^\s@/]*(@HOST@)?[^\s@/]*$/, what: 'a domain name, optionally with @HOST@' }).default('pubsub.@HOST@'),
  /** Push nodes one account may own. */
  max_nodes_per_user: s.int({ min: 1 }).default(10),
  /** Push nodes on the service. */
  max_nodes: s.int({ min: 1 }).default(100_000),
  /** Notifications kept per node. */
  max_items: s.int({ min: 1 }).default(10),
});
type Options = Infer<typeof schema>;

export interface PublishedNotification {
  readonly node: string;
  readonly owner: string;
  readonly item: PushItem;
}

export interface PushNodeStats {
  published: number;
  refused: number;
  dropped: number;
}

export interface PushNodeService {
  readonly domain: string;
  readonly nodes: PushNodes;
  readonly stats: PushNodeStats;
  /** Calls the listener for every accepted publish; returns the removal. */
  onPublish(listener: (n: PublishedNotification) => void): () => void;
}

const services = new WeakMap<Hooks, Map<string, PushNodeService>>();

export function pushNodeService(hooks: Hooks, domain: string): PushNodeService | undefined {
  return services.get(hooks)?.get(domain);
}

const newNodeName = (): string => randomBytes(12).toString('base64url');

export const modPubsubPush = defineModule<Options>({
  name: 'mod_pubsub_push',
  xeps: ['XEP-0357'],
  defaults: schema.parse({}, ['modules', 'mod_pubsub_push']),
  schema,
  async start(host, opts, ctx) {
    const domain = opts.host.replace('@HOST@', host).toLowerCase();
    const nodes = new PushNodes(ctx.storage.kv, host, { maxNodes: opts.max_nodes, maxNodesPerOwner: opts.max_nodes_per_user, maxItems: opts.max_items }, ctx.logger);
    await nodes.load();
    const listeners = new Set<(n: PublishedNotification) => void>();
    const stats: PushNodeStats = { published: 0, refused: 0, dropped: 0 };
    const service: PushNodeService = {
      domain,
      nodes,
      stats,
      onPublish(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    let byDomain = services.get(ctx.hooks);
    if (byDomain === undefined) services.set(ctx.hooks, (byDomain = new Map()));
    byDomain.set(domain, service);
    ctx.onStop(() => {
      listeners.clear();
      if (byDomain.get(domain) === service) byDomain.delete(domain);
    });

    const answer = (request: Packet, payload: Element | null): void => {
      const reply = new Element('iq', { type: 'result', id: request.id, from: request.to.toString(), to: request.from.toString() });
      if (payload !== null) reply.append(payload);
      ctx.route(Packet.derive(request, reply, request.to, request.from));
    };
    const refuse = (request: Packet, error: StanzaError): void => {
      stats.refused++;
      ctx.router.bounce(request, error);
    };

    const handle = (packet: Packet, payload: Element): Element | null | StanzaError => {
      const get = packet.type === 'get';
      if (payload.ns === NS_DISCO_INFO && payload.localName === 'query') {
        if (!get) return new StanzaError('bad-request');
        if (payload.attrs.node !== undefined) return new StanzaError('item-not-found');
        const q = new Element('query', { xmlns: NS_DISCO_INFO });
        q.c('identity', { category: 'pubsub', type: 'push', name: 'Push notifications' });
        for (const f of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB, NS_PUSH]) q.c('feature', { var: f });
        return q;
      }
      if (payload.ns === NS_DISCO_ITEMS && payload.localName === 'query') {
        return get ? new Element('query', { xmlns: NS_DISCO_ITEMS }) : new StanzaError('bad-request');
      }
      if (payload.localName !== 'pubsub') return new StanzaError('service-unavailable');
      const op = payload.elements[0];
      if (op === undefined || payload.elements.filter((e) => e.localName !== 'publish-options').length !== 1) return new StanzaError('bad-request');
      const owner = packet.from.bare().toString();
      const node = op.attrs.node;

      if (payload.ns === NS_PUBSUB_OWNER) {
        if (op.localName !== 'delete' || get) return new StanzaError('feature-not-implemented');
        if (node === undefined) return new StanzaError('bad-request', { text: 'node required' });
        const current = nodes.owner(node);
        if (current === undefined) return new StanzaError('item-not-found');
        if (current !== owner) return new StanzaError('forbidden');
        nodes.delete(node);
        return null;
      }
      if (payload.ns !== NS_PUBSUB) return new StanzaError('service-unavailable');

      if (op.localName === 'create' && !get) {
        // Only accounts of this server: the service is for its own users' devices.
        if (packet.from.local === '' || !ctx.router.isLocal(packet.from.domain)) return new StanzaError('forbidden');
        const name = node ?? newNodeName();
        const created = nodes.create(name, owner);
        if (created === 'conflict') return new StanzaError('conflict');
        if (created === 'limit') return new StanzaError('resource-constraint', { text: 'too many push nodes' });
        return node === undefined ? new Element('pubsub', { xmlns: NS_PUBSUB }).append(new Element('create', { node: name })) : null;
      }
      if (op.localName === 'publish' && !get) {
        if (node === undefined) return new StanzaError('bad-request', { text: 'node required' });
        const current = nodes.owner(node);
        if (current === undefined) return new StanzaError('item-not-found');
        if (current !== owner) return new StanzaError('forbidden');
        const notification = op.getChild('item')?.getChild('notification', NS_PUSH);
        if (notification === undefined) return new StanzaError('bad-request', { text: 'a push notification item is required' });
        const item: PushItem = { id: newNodeName(), notification: notification.clone(), options: publishOptions(payload), publishedAt: new Date().toISOString() };
        nodes.publish(node, item);
        stats.published++;
        for (const l of listeners) {
          try {
            l({ node, owner, item });
          } catch (err) {
            ctx.logger.warn('pubsub_push_listener_failed', { error: err });
          }
        }
        return new Element('pubsub', { xmlns: NS_PUBSUB }).append(new Element('publish', { node }).append(new Element('item', { id: item.id })));
      }
      if (op.localName === 'items' && get) {
        if (node === undefined) return new StanzaError('bad-request', { text: 'node required' });
        const current = nodes.owner(node);
        if (current === undefined) return new StanzaError('item-not-found');
        if (current !== owner) return new StanzaError('forbidden');
        const items = new Element('items', { node });
        for (const i of nodes.items(node)) items.append(new Element('item', { id: i.id }).append(i.notification.clone()));
        return new Element('pubsub', { xmlns: NS_PUBSUB }).append(items);
      }
      return new StanzaError('feature-not-implemented');
    };

    ctx.addDomainRoute(domain, {
      route(packet) {
        if (packet.kind === 'iq') {
          if (packet.type !== 'get' && packet.type !== 'set') {
            stats.dropped++; // results and errors: nothing here waits for one; never answered
            return;
          }
          const children = packet.element().elements;
          if (packet.id === undefined || children.length !== 1) {
            refuse(packet, new StanzaError('bad-request'));
            return;
          }
          const result = handle(packet, children[0]!);
          if (result instanceof StanzaError) refuse(packet, result);
          else answer(packet, result);
          return;
        }
        // Messages: service-unavailable (the router's bounce never answers an error); presence: dropped.
        if (packet.kind === 'message') refuse(packet, new StanzaError('service-unavailable'));
        else stats.dropped++;
      },
    });

    ctx.addHook('disco_local_items', ({ items }) => {
      items.push({ jid: domain, name: 'Push notifications' });
    });
  },
});

function publishOptions(pubsub: Element): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const form = pubsub.getChild('publish-options')?.getChild('x', NS_DATA_FORMS);
  for (const f of form?.getChildren('field', NS_DATA_FORMS) ?? []) {
    const name = f.attrs.var;
    if (name === undefined || name === 'FORM_TYPE') continue;
    out.set(name, f.getChildren('value', NS_DATA_FORMS).map((v) => v.text));
  }
  return out;
}
