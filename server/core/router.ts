// The router: where a packet goes, per RFC 6120 §10 and the delivery rules of RFC 6121 §8.5.
//
//   to a local domain  ─► filter_local_packet ─► the domain itself: IQ dispatch ('local') / local_packet hook
//                                           ├─► a bare JID: §8.5.2 rules per stanza kind and type
//                                           └─► a full JID: that session, or the §8.5.3 fallback
//   to another domain  ─► an exact domain route (components), then the remote resolvers
//                         (cluster, global distribution, s2s), else remote-server-not-found
//
// Message delivery to a bare JID (§8.5.2.1.1 leaves two choices): we deliver to every available
// resource that shares the highest non-negative priority. Ties go to all of them, so a user
// with a phone and a desktop at the same priority sees the message on both; a resource that
// chose a lower priority asked not to get bare-JID messages while a higher one is online.
//
// Loop safety (security rule 5):
//   - an error is never answered with an error (Packet.errorReply refuses);
//   - every packet has a hop count. A packet routed while another is being routed (the
//     routing path is synchronous, so it was caused by it) gets at least the parent's count
//     plus one; replies built with Packet.derive inherit it across queues and timers.
//     A packet whose count reaches maxHops is dropped, counted, and logged at most once per
//     logInterval, however fast a loop spins.
//
// Other processes of this node (server/cluster/ workers) hold sessions too. When a PeerSessions
// directory is set, the delivery rules below see those sessions beside the local ones (the
// same priority rules, the same offline/unknown-user decisions) and hand a packet for one of
// them to peers.forward(); the process holding it finishes the job in routeFromPeer(). Without
// a directory (one process) nothing here changes.
//
// "Every resource of this account that ..." (roster pushes, carbons, blocking pushes) goes
// through deliverToAudience(): local sessions of the audience get the stanza directly, and
// every other process holding sessions of the account gets it once, with the audience's
// name, and delivers it to those of its sessions the audience includes
// (routeAudienceFromPeer). Such a stanza never travels further, so it cannot loop.
//
// Everything here is synchronous: the caller's view into tokenizer memory stays valid for the
// whole of route(), which is what makes the zero-copy write in Session.send possible.

import type { Jid } from '../jid.ts';
import { StanzaError, type StanzaErrorCondition } from '../errors.ts';
import type { Hooks } from './hooks.ts';
import type { IqDispatcher } from './iq.ts';
import type { Packet } from './packet.ts';
import type { Session, SessionManager } from './sessions.ts';
import { AudienceRegistry, type Audience } from './audiences.ts';
import { logger as rootLogger, type Logger } from '../log.ts';

/** Somewhere outside the local session table that accepts packets (a component, a peer node, s2s). */
export interface RouteTarget {
  /** Accepts the packet synchronously (queueing it if needed: detach() first). */
  route(packet: Packet): void;
}

/** Finds a target for a non-local domain, or undefined if this resolver does not know it. */
export type RemoteResolver = (domain: string) => RouteTarget | undefined;

/** A session of a local user bound in another process of this node. */
export interface PeerSession {
  readonly jid: Jid;
  readonly priority: number;
  readonly available: boolean;
}

/**
 * Which copy of a packet a forward is.
 *   sole:  no other copy went anywhere; if the session is gone the receiving process applies
 *          the RFC 6121 fallbacks instead of dropping it.
 *   first: the first of several copies; the receiving process does the once-per-stanza work
 *          of delivery (received carbons).
 *   later: another copy went first (delivered here, or forwarded); Packet.laterCopy is set
 *          on the receiving side.
 */
export type ForwardedCopy = 'sole' | 'first' | 'later';

/** Sessions bound in the other processes of this node (server/cluster/), and the way to reach them. */
export interface PeerSessions {
  /** The account's sessions bound elsewhere (never this process's own). Do not mutate. */
  resources(bare: Jid): readonly PeerSession[];
  /** The session bound elsewhere to exactly this full JID. */
  get(full: Jid): PeerSession | undefined;
  /**
   * Hands the packet to the process holding `session`, which delivers it there
   * (routeFromPeer). Must take the packet's bytes synchronously.
   */
  forward(session: PeerSession, packet: Packet, copy: ForwardedCopy): void;
  /**
   * Hands the packet once to every other process holding a session of `user` not listed in
   * `options.except`; each delivers it to those of its own sessions of the account that are
   * in the named audience (routeAudienceFromPeer, same options). Must take the packet's bytes
   * synchronously.
   */
  forwardToAudience(user: Jid, audience: string, packet: Packet, options: AudienceOptions): void;
}

export interface AudienceOptions {
  /** Full JIDs of sessions that do not get it (the resource a carbon is about, say). */
  readonly except?: readonly Jid[];
  /**
   * Deliver it with the packet's own 'to' (a subscription request addressed to the bare
   * JID) rather than readdressed to each session's full JID.
   */
  readonly keepTo?: boolean;
}

const NO_PEERS: readonly PeerSession[] = [];
const NO_JIDS: readonly Jid[] = [];
const DEFAULT_AUDIENCE_OPTIONS: AudienceOptions = {};

export interface RouterOptions {
  hooks: Hooks;
  sessions: SessionManager;
  hosts?: Iterable<string>;
  /**
   * Whether a local account exists (RFC 6121 §8.5.1 depends on it). Synchronous: the auth
   * backend keeps what it needs in memory or cached. Default: every account exists.
   */
  userExists?: (bare: Jid) => boolean;
  maxHops?: number;
  logIntervalMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface RouterStats {
  routed: number;
  delivered: number;
  bounced: number;
  hopLimitDrops: number;
}

const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

export class Router {
  readonly stats: RouterStats = { routed: 0, delivered: 0, bounced: 0, hopLimitDrops: 0 };
  readonly maxHops: number;
  /** Named groups of an account's sessions, for deliverToAudience (modules define them through ctx). */
  readonly audiences = new AudienceRegistry();
  private readonly hosts = new Set<string>();
  private readonly domainRoutes = new Map<string, RouteTarget>();
  private resolvers: readonly RemoteResolver[] = [];
  private readonly hooks: Hooks;
  private readonly sessions: SessionManager;
  private iq: IqDispatcher | undefined;
  private peers: PeerSessions | undefined;
  private readonly userExists: (bare: Jid) => boolean;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly logIntervalMs: number;
  private lastHopLog = -Infinity;
  private suppressedHopLogs = 0;
  /** Hop count of the packet being routed right now; -1 outside route(). */
  private currentHops = -1;

  constructor(options: RouterOptions) {
    this.hooks = options.hooks;
    this.sessions = options.sessions;
    for (const h of options.hosts ?? []) this.hosts.add(h);
    this.userExists = options.userExists ?? (() => true);
    this.maxHops = options.maxHops ?? 16;
    this.logIntervalMs = options.logIntervalMs ?? 10_000;
    this.log = options.logger ?? rootLogger;
    this.now = options.now ?? Date.now;
  }

  /** Wired once by the core (the dispatcher needs the router to send its replies). */
  setIqDispatcher(iq: IqDispatcher): void {
    this.iq = iq;
  }

  /** Wired once by a worker of a multi-process node (server/cluster/worker.ts). */
  setPeerSessions(peers: PeerSessions | undefined): void {
    this.peers = peers;
  }

  addHost(host: string): void {
    this.hosts.add(host);
  }

  removeHost(host: string): void {
    this.hosts.delete(host);
  }

  isLocal(domain: string): boolean {
    return this.hosts.has(domain);
  }

  /** Routes one domain (e.g. a component's) to a target; returns the removal. A domain has one owner: a second claim throws. */
  addDomainRoute(domain: string, target: RouteTarget): () => void {
    if (this.hosts.has(domain) || this.domainRoutes.has(domain)) throw new Error(`domain ${domain} is already routed`);
    this.domainRoutes.set(domain, target);
    return () => {
      if (this.domainRoutes.get(domain) === target) this.domainRoutes.delete(domain);
    };
  }

  /** Adds a resolver for other domains, asked in the order added; returns the removal. */
  addRemoteResolver(resolver: RemoteResolver): () => void {
    this.resolvers = [...this.resolvers, resolver];
    return () => {
      this.resolvers = this.resolvers.filter((r) => r !== resolver);
    };
  }

  /**
   * Validates the 'from' a client put on a stanza (RFC 6120 §8.1.2.1): absent → the
   * session's full JID; the session's full or bare JID → that; anything else → undefined
   * (the stream answers with invalid-from).
   */
  checkFrom(session: Session, from: Jid | undefined): Jid | undefined {
    if (from === undefined) return session.jid;
    if (from.equals(session.jid)) return session.jid;
    if (from.isBare && from.equals(session.jid.bare())) return from;
    return undefined;
  }

  /**
   * Entry point for a stanza a local session sent (the stream has checked 'from' and set
   * 'to'): runs user_send_packet, then routes unless a handler stopped it.
   */
  routeFromSession(session: Session, packet: Packet): void {
    if (!this.hooks.run('user_send_packet', session.jid.domain, { session, packet })) return;
    this.route(packet);
  }

  route(packet: Packet): void {
    const parentHops = this.currentHops;
    if (packet.hops <= parentHops) packet.hops = parentHops + 1;
    if (packet.hops >= this.maxHops) {
      this.dropLooping(packet);
      return;
    }
    this.stats.routed++;
    this.currentHops = packet.hops;
    try {
      const domain = packet.to.domain;
      if (this.hosts.has(domain)) this.routeLocal(packet, domain);
      else this.routeRemote(packet, domain);
    } finally {
      this.currentHops = parentHops;
    }
  }

  /**
   * A packet another process of this node forwarded for `target`, one of the sessions bound
   * here (filter_local_packet already ran there). Delivered to that session; if it has gone
   * meanwhile, a sole copy falls back to the RFC 6121 rules here (other resources, offline
   * storage, an error), and a copy that was one of several is dropped as §8.5.2 allows for a
   * resource that is no longer available.
   */
  routeFromPeer(packet: Packet, target: Jid, copy: ForwardedCopy): void {
    const parentHops = this.currentHops;
    if (packet.hops <= parentHops) packet.hops = parentHops + 1;
    if (packet.hops >= this.maxHops) {
      this.dropLooping(packet);
      return;
    }
    this.stats.routed++;
    this.currentHops = packet.hops;
    try {
      if (copy === 'later') packet.laterCopy = true;
      const session = this.sessions.get(target);
      if (session !== undefined) this.deliver(session, packet);
      else if (copy !== 'sole') return;
      else if (packet.to.resource === '') this.routeToBare(packet, packet.to);
      else this.routeToFull(packet, packet.to);
    } finally {
      this.currentHops = parentHops;
    }
  }

  /**
   * Every session of the local account `user`, in this process or another of the node (for
   * decisions about the whole account: who gets a message directly, is anyone online).
   * Local sessions come first. Do not mutate.
   */
  accountResources(user: Jid): readonly PeerSession[] {
    const local = this.sessions.resources(user);
    const peers = this.peerResources(user);
    if (peers.length === 0) return local;
    return local.length === 0 ? peers : [...local, ...peers];
  }

  /**
   * Delivers a stanza to each session of the local account `user`, in this process or
   * another of the node, that is in `audience` and not listed in `options.except`: a roster
   * push to the resources that fetched the roster, a carbon to those that enabled carbons.
   * Each session gets the stanza addressed to its full JID, unless `options.keepTo` (so
   * make the packet's own 'to' the bare JID). `stanza` may be a function: it is called at
   * most once, when there is someone to deliver to, so a stanza nobody gets is never built.
   *
   * These are copies, one per resource: a session that has gone by the time its copy
   * arrives is skipped, as for a resource that just left; a worker that cannot be reached
   * is logged and counted by the PeerSessions implementation.
   */
  deliverToAudience(user: Jid, audience: Audience, stanza: Packet | (() => Packet), options: AudienceOptions = DEFAULT_AUDIENCE_OPTIONS): void {
    const except = options.except ?? NO_JIDS;
    let packet = typeof stanza === 'function' ? undefined : stanza;
    for (const session of this.sessions.resources(user)) {
      if (!audience.includes(session) || listed(except, session.jid)) continue;
      packet ??= (stanza as () => Packet)();
      this.deliver(session, options.keepTo === true ? packet : packet.retarget(session.jid));
    }
    const peers = this.peers;
    if (peers === undefined) return;
    const remote = peers.resources(user);
    if (remote.length === 0) return;
    if (!remote.some((p) => !listed(except, p.jid))) return;
    packet ??= (stanza as () => Packet)();
    if (packet.hops <= this.currentHops) packet.hops = this.currentHops + 1;
    peers.forwardToAudience(user.bare(), audience.name, packet, options);
  }

  /**
   * A stanza another process of this node handed over with deliverToAudience(): delivered to
   * the sessions of `user` bound here that are in the named audience, as the options say.
   * Nothing is forwarded again from here.
   */
  routeAudienceFromPeer(packet: Packet, user: Jid, audienceName: string, options: AudienceOptions): void {
    const parentHops = this.currentHops;
    if (packet.hops <= parentHops) packet.hops = parentHops + 1;
    if (packet.hops >= this.maxHops) {
      this.dropLooping(packet);
      return;
    }
    const audience = this.audiences.get(user.domain, audienceName);
    if (audience === undefined) {
      // Only while a module is being stopped or started on one worker and not yet on another.
      this.log.warn('audience_unknown', { audience: audienceName, host: user.domain, kind: packet.kind });
      return;
    }
    const except = options.except ?? NO_JIDS;
    this.stats.routed++;
    this.currentHops = packet.hops;
    try {
      for (const session of this.sessions.resources(user)) {
        if (!audience.includes(session) || listed(except, session.jid)) continue;
        this.deliver(session, options.keepTo === true ? packet : packet.retarget(session.jid));
      }
    } finally {
      this.currentHops = parentHops;
    }
  }

  /** Writes a packet to a session after user_receive_packet. False when a handler stopped it. */
  deliver(session: Session, packet: Packet): boolean {
    if (!this.hooks.run('user_receive_packet', session.jid.domain, { session, packet })) return false;
    this.stats.delivered++;
    try {
      session.send(packet);
    } catch (err) {
      // One broken stream must not cut a broadcast short or unwind the sender's stack.
      this.log.warn('session_send_failed', { to: session.jid.toString(), error: err });
    }
    return true;
  }

  /** Answers a packet with an error from its addressee; does nothing for an error or an IQ result. */
  bounce(packet: Packet, error: StanzaError | StanzaErrorCondition): void {
    const reply = packet.errorReply(typeof error === 'string' ? new StanzaError(error) : error);
    if (reply === undefined) return;
    this.stats.bounced++;
    this.route(reply);
  }

  private dropLooping(packet: Packet): void {
    this.stats.hopLimitDrops++;
    const now = this.now();
    if (now - this.lastHopLog < this.logIntervalMs) {
      this.suppressedHopLogs++;
      return;
    }
    this.log.warn('route_hop_limit_exceeded', {
      kind: packet.kind,
      type: packet.type,
      from: packet.from.toString(),
      to: packet.to.toString(),
      hops: packet.hops,
      suppressed: this.suppressedHopLogs,
    });
    this.lastHopLog = now;
    this.suppressedHopLogs = 0;
  }

  private routeLocal(packet: Packet, domain: string): void {
    if (!this.hooks.run('filter_local_packet', domain, { packet })) return;
    const to = packet.to;
    if (to.local === '') this.routeToServer(packet, domain);
    else if (!this.connectedHere(to) && !this.hooks.run('user_not_connected', domain, { packet, to })) return;
    // An account with a bound session exists: the session table answers without storage,
    // which keeps the common case (an online recipient) off the database.
    else if (this.sessions.resources(to).length === 0 && this.peerResources(to).length === 0 && !this.userExists(to.bare())) this.routeToUnknownUser(packet);
    else if (to.resource === '') this.routeToBare(packet, to);
    else this.routeToFull(packet, to);
  }

  /** A session for exactly this JID (the full JID; any resource of a bare JID) is bound on this node. */
  private connectedHere(to: Jid): boolean {
    if (to.resource === '') return this.sessions.resources(to).length > 0 || this.peerResources(to).length > 0;
    return this.sessions.get(to) !== undefined || (this.peers !== undefined && this.peers.get(to) !== undefined);
  }

  private peerResources(bare: Jid): readonly PeerSession[] {
    return this.peers === undefined ? NO_PEERS : this.peers.resources(bare);
  }

  private routeToServer(packet: Packet, domain: string): void {
    if (packet.kind === 'iq') {
      this.iqDispatcher().dispatch('local', packet);
      return;
    }
    if (!this.hooks.run('local_packet', domain, { packet })) return;
    if (packet.kind === 'message' && packet.type !== 'headline') this.bounce(packet, 'service-unavailable');
  }

  // RFC 6121 §8.5.1: messages and IQs get service-unavailable, presence is dropped.
  private routeToUnknownUser(packet: Packet): void {
    if (packet.kind === 'message' || packet.kind === 'iq') this.bounce(packet, 'service-unavailable');
  }

  // RFC 6121 §8.5.2
  private routeToBare(packet: Packet, to: Jid): void {
    switch (packet.kind) {
      case 'message':
        this.messageToBare(packet, to);
        return;
      case 'presence':
        this.presenceToBare(packet, to);
        return;
      case 'iq':
        this.iqDispatcher().dispatch('sm', packet);
        return;
      default:
        return;
    }
  }

  private messageToBare(packet: Packet, to: Jid): void {
    const type = packet.type;
    if (type === 'error') return;
    if (type === 'groupchat') {
      this.bounce(packet, 'service-unavailable');
      return;
    }
    const sessions = this.sessions.resources(to);
    const peers = this.peerResources(to);
    if (type === 'headline') {
      // §8.5.2.1.1: all available resources with non-negative priority; §8.5.2.2.1: none → ignore.
      let copies = 0;
      for (const s of sessions) {
        if (!s.available || s.priority < 0) continue;
        this.deliver(s, packet);
        copies++;
      }
      for (const p of peers) {
        if (!p.available || p.priority < 0) continue;
        this.peers!.forward(p, packet, copies === 0 ? 'first' : 'later');
        copies++;
      }
      return;
    }
    // chat, normal, and unknown types (RFC 6121 §5.2.2: treated as normal)
    let best = -1;
    for (const s of sessions) if (s.available && s.priority > best) best = s.priority;
    for (const p of peers) if (p.available && p.priority > best) best = p.priority;
    if (best >= 0) {
      if (peers.length > 0) {
        this.messageToBest(packet, sessions, peers, best);
        return;
      }
      for (const s of sessions) if (s.available && s.priority === best) this.deliver(s, packet);
      return;
    }
    if (this.hooks.run('offline_message', to.domain, { packet, to })) this.bounce(packet, 'service-unavailable');
  }

  /** The highest-priority resources of an account spread over this process and others. */
  private messageToBest(packet: Packet, sessions: readonly Session[], peers: readonly PeerSession[], best: number): void {
    let targets = 0;
    for (const s of sessions) if (s.available && s.priority === best) targets++;
    for (const p of peers) if (p.available && p.priority === best) targets++;
    let copies = 0;
    for (const s of sessions) {
      if (!s.available || s.priority !== best) continue;
      this.deliver(s, packet);
      copies++;
    }
    for (const p of peers) {
      if (!p.available || p.priority !== best) continue;
      this.peers!.forward(p, packet, targets === 1 ? 'sole' : copies === 0 ? 'first' : 'later');
      copies++;
    }
  }

  private presenceToBare(packet: Packet, to: Jid): void {
    const type = packet.type;
    if (type === 'probe') {
      this.hooks.run('presence_probe', to.domain, { packet, to });
      return;
    }
    if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
      if (!this.hooks.run('roster_in_subscription', to.domain, { packet, to })) return;
    } else if (type !== undefined && type !== 'unavailable' && type !== 'error') {
      return; // not a presence type (RFC 6120 §8.2.2 lists them all); nothing to deliver
    }
    // §8.5.2.1.2: to every available resource; §8.5.2.2.2: none → ignore.
    let copies = 0;
    for (const s of this.sessions.resources(to)) {
      if (!s.available) continue;
      this.deliver(s, packet);
      copies++;
    }
    for (const p of this.peerResources(to)) {
      if (!p.available) continue;
      this.peers!.forward(p, packet, copies === 0 ? 'first' : 'later');
      copies++;
    }
  }

  // RFC 6121 §8.5.3
  private routeToFull(packet: Packet, to: Jid): void {
    const session = this.sessions.get(to);
    if (session === undefined && this.peers !== undefined) {
      const peer = this.peers.get(to);
      const type = packet.type;
      const accountWide = packet.kind === 'presence' && (type === 'probe' || (type !== undefined && SUBSCRIPTION_TYPES.has(type)));
      if (peer !== undefined && !accountWide) {
        this.peers.forward(peer, packet, 'sole');
        return;
      }
    }
    switch (packet.kind) {
      case 'message': {
        if (session !== undefined) {
          this.deliver(session, packet);
          return;
        }
        const type = packet.type;
        // §8.5.3.2.1: groupchat → error; headline and error → ignore; others → as if to the bare JID.
        if (type === 'groupchat') this.bounce(packet, 'service-unavailable');
        else if (type !== 'headline' && type !== 'error') this.messageToBare(packet, to.bare());
        return;
      }
      case 'presence': {
        const type = packet.type;
        // Subscription requests and probes concern the account, not a resource (RFC 6121 §3, §4.3).
        if (type === 'probe' || (type !== undefined && SUBSCRIPTION_TYPES.has(type))) {
          this.presenceToBare(packet, to.bare());
          return;
        }
        // §8.5.3.2.2: no such resource → ignore.
        if (session !== undefined) this.deliver(session, packet);
        return;
      }
      case 'iq':
        if (session !== undefined) this.deliver(session, packet);
        else this.bounce(packet, 'service-unavailable'); // §8.5.3.2.3 (results/errors: never answered)
        return;
      default:
        return;
    }
  }

  private routeRemote(packet: Packet, domain: string): void {
    let target = this.domainRoutes.get(domain);
    if (target === undefined) {
      for (const resolve of this.resolvers) {
        target = resolve(domain);
        if (target !== undefined) break;
      }
    }
    if (target !== undefined) target.route(packet);
    else this.bounce(packet, 'remote-server-not-found');
  }

  private iqDispatcher(): IqDispatcher {
    if (this.iq === undefined) throw new Error('router used before an IQ dispatcher was set');
    return this.iq;
  }
}

function listed(jids: readonly Jid[], jid: Jid): boolean {
  for (const j of jids) if (j.equals(jid)) return true;
  return false;
}
