// Where a stanza for the global host goes when its recipient is not connected here.
//
//   filter_local_packet ─► a local session holds the recipient → not ours: local rules
//                       ├─► arrived from a peer with ttl 0 → local rules (no ping-pong)
//                       ├─► cached cluster (and nothing held for this recipient) → forward now
//                       └─► otherwise → hold queue: look up in Redis, forward / wait / local rules
//
// Forwarding writes the stanza's bytes (the original bytes when nobody changed it) into a
// DATA frame on the link to the owning cluster, with ttl − 1 when it had already crossed a
// link. A stanza arriving from a peer teaches the cache where its sender is.

import type { Packet } from '../../server/core/packet.ts';
import type { Router } from '../../server/core/router.ts';
import type { SessionManager } from '../../server/core/sessions.ts';
import { StanzaError } from '../../server/errors.ts';
import { parseJid, type Jid } from '../../server/jid.ts';
import type { Logger } from '../../server/log.ts';
import { Packet as PacketClass } from '../../server/core/packet.ts';
import { parseStoredElement } from '../stored-xml.ts';
import { FrameDecoder, FRAME_DATA, type DataFrame } from './frame.ts';
import { HoldQueues, type Resolution } from './hold-queue.ts';
import { JidCache } from './jid-cache.ts';
import type { GdMetrics } from './metrics.ts';
import { PeerLink, type PendingFrame } from './outbound.ts';
import type { LinkTls } from './link-tls.ts';
import type { RoutingTable } from './routing-table.ts';
import type { GlobalDistribOptions } from './options.ts';

interface Arrival {
  readonly ttl: number;
  readonly origin: string;
}

export interface DistributorDeps {
  opts: GlobalDistribOptions;
  router: Router;
  sessions: SessionManager;
  table: RoutingTable;
  tls: LinkTls | undefined;
  boot: string;
  log: Logger;
  metrics: GdMetrics;
}

export class Distributor {
  readonly cache: JidCache;
  readonly held: HoldQueues;
  readonly peers = new Map<string, PeerLink>();
  /** Stanzas that came over a link, with what their frame said. */
  private readonly arrivals = new WeakMap<Packet, Arrival>();
  /** Stanzas this module handed back to the local rules: not intercepted again. */
  private readonly local = new WeakSet<Packet>();
  private readonly cluster: string;

  constructor(private readonly deps: DistributorDeps) {
    const o = deps.opts;
    this.cluster = o.local_host;
    this.cache = new JidCache(o.cache.jid_ttl);
    this.held = new HoldQueues({
      resendAfterMs: o.bounce.resend_after_ms,
      maxRetries: o.bounce.max_retries,
      maxQueued: o.bounce.max_queued,
      resolve: (packet) => this.resolve(packet.to),
      isHere: (packet) => this.isHere(packet.to),
      forward: (packet, cluster, ttl) => this.forward(packet, cluster, ttl),
      deliverHere: (packet) => this.deliverHere(packet),
      refuse: (packet, why) => {
        deps.metrics.returned(why);
        this.deps.router.bounce(packet, why === 'queue-full'
          ? new StanzaError('resource-constraint', { text: 'too many stanzas waiting for their recipients' })
          : new StanzaError('service-unavailable', { text: 'the routing table is unavailable' }));
      },
    });
  }

  /** filter_local_packet: true when the packet was taken (forwarded or held). */
  take(packet: Packet): boolean {
    const to = packet.to;
    if (to.local === '' || this.local.has(packet)) return false;
    if (this.isHere(to)) return false;
    const arrival = this.arrivals.get(packet);
    if (arrival !== undefined && arrival.ttl <= 0) return false;
    const ttl = arrival === undefined ? this.deps.opts.message_ttl : arrival.ttl - 1;
    const key = to.bare().toString();
    if (!this.held.has(key)) {
      const cached = this.hasOtherResources(to) ? this.cache.getExact(to) : this.cache.get(to);
      if (cached !== undefined && cached !== this.cluster) {
        this.forward(packet, cached, ttl);
        return true;
      }
    }
    this.held.enqueue(key, packet.detach(), ttl);
    return true;
  }

  /** A stanza from a peer cluster: remember where its sender is, then route it here. */
  receive(packet: Packet, frame: DataFrame): void {
    this.arrivals.set(packet, { ttl: frame.ttl, origin: frame.origin });
    this.deps.metrics.received(frame.origin);
    const from = packet.from;
    if (frame.origin !== this.cluster && from.local !== '' && from.domain === this.deps.opts.global_host) this.cache.learn(from, frame.origin);
    this.deps.router.route(packet);
  }

  /** A route target for a domain (component) another cluster serves. */
  forwardToDomain(packet: Packet, cluster: string): void {
    const arrival = this.arrivals.get(packet);
    if (cluster === this.cluster || (arrival !== undefined && arrival.ttl <= 0)) {
      this.deps.router.bounce(packet, 'remote-server-not-found');
      return;
    }
    this.forward(packet, cluster, arrival === undefined ? this.deps.opts.message_ttl : arrival.ttl - 1);
  }

  forward(packet: Packet, cluster: string, ttl: number): void {
    const from = packet.from.toString();
    const to = packet.to.toString();
    let sent: boolean;
    try {
      sent = this.peer(cluster).send(ttl, from, to, packet.bytesFor({ from, to }));
    } catch (err) {
      this.deps.log.warn('gd_forward_failed', { peer: cluster, error: err });
      sent = false;
    }
    if (!sent) {
      this.deps.metrics.returned('peer-overloaded');
      this.deps.router.bounce(packet, new StanzaError('resource-constraint', { text: `too many stanzas waiting for cluster ${cluster}` }));
      return;
    }
    this.deps.metrics.sent(cluster);
  }

  /** A session for this JID was bound here: drop stale answers, release what waits for it. */
  sessionOpened(jid: Jid): void {
    this.cache.forget(jid);
    this.held.wake(jid.bare().toString());
  }

  expireLinks(): void {
    for (const link of this.peers.values()) link.expire();
  }

  stop(): void {
    this.held.stop();
    for (const link of this.peers.values()) link.close();
    this.peers.clear();
  }

  /** A session for exactly this JID (a full JID's resource, or any resource of a bare JID) is here. */
  private isHere(to: Jid): boolean {
    const sessions = this.deps.sessions;
    return to.resource === '' ? sessions.resources(to).length > 0 : sessions.get(to) !== undefined;
  }

  /**
   * A full JID whose resource is not here while the account has others here: only that
   * resource's own entry may send it elsewhere; otherwise RFC 6121 §8.5.3.2.1 applies here.
   */
  private hasOtherResources(to: Jid): boolean {
    return to.resource !== '' && this.deps.sessions.resources(to).length > 0;
  }

  private async resolve(to: Jid): Promise<Resolution> {
    const exact = this.hasOtherResources(to);
    const cached = exact ? this.cache.getExact(to) : this.cache.get(to);
    if (cached !== undefined && cached !== this.cluster) return { kind: 'remote', cluster: cached };
    let owner: string | undefined;
    try {
      owner = await this.deps.table.lookup(to, exact);
    } catch (err) {
      this.deps.log.debug('gd_lookup_failed', { error: err });
      return { kind: 'error' };
    }
    if (owner === undefined || owner === this.cluster) return exact ? { kind: 'local' } : { kind: 'nowhere' };
    this.cache.set(to, owner);
    return { kind: 'remote', cluster: owner };
  }

  private deliverHere(packet: Packet): void {
    this.local.add(packet);
    this.deps.router.route(packet);
  }

  private peer(cluster: string): PeerLink {
    let link = this.peers.get(cluster);
    if (link === undefined) {
      const o = this.deps.opts;
      link = new PeerLink({
        peer: cluster,
        origin: this.cluster,
        boot: this.deps.boot,
        slots: o.connections.connections_per_endpoint,
        tls: this.deps.tls,
        deliveryTimeoutMs: o.connections.delivery_timeout,
        maxPending: o.connections.max_pending_per_peer,
        resolveEndpoints: (peer) => this.deps.table.endpoints(peer),
        onUndeliverable: (frame, reason) => this.undeliverable(cluster, frame, reason),
        onIdentityMismatch: () => this.deps.metrics.identityMismatch('outbound'),
        log: this.deps.log,
      });
      this.peers.set(cluster, link);
    }
    return link;
  }

  /** A frame the peer never acknowledged: its stanza goes back to the sender as an error. */
  private undeliverable(cluster: string, pending: PendingFrame, reason: string): void {
    const frame = new FrameDecoder().push(pending.bytes)[0];
    if (frame === undefined || frame.type !== FRAME_DATA) return;
    const element = parseStoredElement(new TextDecoder().decode(frame.stanza));
    if (element === undefined) return;
    this.deps.log.info('gd_stanza_returned', { peer: cluster, reason });
    this.deps.metrics.returned('peer-unreachable');
    const packet = PacketClass.fromElement(element, parseJid(frame.from), parseJid(frame.to));
    this.deps.router.bounce(packet, new StanzaError('service-unavailable', { text: `cluster ${cluster} did not take the stanza (${reason})` }));
  }
}
