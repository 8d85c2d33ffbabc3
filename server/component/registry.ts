// The node's table of connected external components (XEP-0114): which domains each one
// owns, how a second connection for the same domain is resolved, and what the server's
// disco#items shows of them. A component's domains are router domain routes; they are
// registered when its handshake succeeds and removed when its stream ends.

import { ANY_HOST, type Hooks } from '../core/hooks.ts';
import type { RouteTarget, Router } from '../core/router.ts';
import type { ComponentConflictBehaviour } from '../config/listen.ts';
import type { StreamErrorCondition } from '../errors.ts';
import type { Logger } from '../log.ts';

/** One connected component as the registry sees it (the stream implements it). */
export interface ComponentConnection extends RouteTarget {
  /** Ends the connection with a stream error (used by kick_old and shutdown). */
  kick(condition: StreamErrorCondition, text: string): void;
}

/** What the component asked for and how its listener treats it. */
export interface ComponentRegistration {
  /** The name from the stream header ('to'): the domain, or the subdomain label with is_subdomain. */
  name: string;
  /** Every domain it owns: [name], or name.<host> for each served host. */
  domains: readonly string[];
  hidden: boolean;
  conflictBehaviour: ComponentConflictBehaviour;
  transport: string;
  remoteAddress: string;
  listenerPort: number;
}

/** A row of the admin listing. */
export interface ComponentInfo {
  name: string;
  domains: string[];
  hidden: boolean;
  transport: string;
  remoteAddress: string;
  listenerPort: number;
  connectedAt: Date;
}

export type ConnectResult = { ok: true } | { ok: false; condition: 'conflict'; text: string };

interface Entry {
  connection: ComponentConnection;
  registration: ComponentRegistration;
  connectedAt: Date;
  removeRoutes: Array<() => void>;
}

export class ComponentRegistry {
  private readonly byDomain = new Map<string, Entry>();
  private readonly entries = new Set<Entry>();
  private readonly removeHook: () => void;

  constructor(
    private readonly router: Router,
    hooks: Hooks,
    private readonly log: Logger,
  ) {
    this.removeHook = hooks.add('disco_local_items', ANY_HOST, ({ host, from, node, items }) => {
      if (node !== '') return;
      // Hidden components are marked, not left out: who may see them is mod_disco's policy.
      for (const { domain, hidden } of this.discoDomains(host)) items.push(hidden ? { jid: domain, hidden } : { jid: domain });
    });
  }

  /**
   * Claims the registration's domains for `connection`. With kick_old, components holding
   * any of them are disconnected first; otherwise (or when something other than a
   * component routes the domain) the newcomer is refused with conflict.
   */
  connect(connection: ComponentConnection, registration: ComponentRegistration): ConnectResult {
    for (const domain of registration.domains) {
      const owner = this.byDomain.get(domain);
      if (owner === undefined) continue;
      if (registration.conflictBehaviour !== 'kick_old') {
        return { ok: false, condition: 'conflict', text: `a component is already connected for ${domain}` };
      }
      this.log.info('component_replaced', { domain, remote: owner.registration.remoteAddress });
      owner.connection.kick('conflict', 'replaced by a new connection for the same domain');
      this.remove(owner);
    }
    const entry: Entry = { connection, registration, connectedAt: new Date(), removeRoutes: [] };
    for (const domain of registration.domains) {
      try {
        entry.removeRoutes.push(this.router.addDomainRoute(domain, connection));
      } catch {
        // Routed by something that is not a component (a module's service domain).
        for (const undo of entry.removeRoutes) undo();
        return { ok: false, condition: 'conflict', text: `${domain} is already served by this server` };
      }
      this.byDomain.set(domain, entry);
    }
    this.entries.add(entry);
    this.log.info('component_connected', { name: registration.name, domains: registration.domains, remote: registration.remoteAddress, hidden: registration.hidden });
    return { ok: true };
  }

  /** Removes the component's routes (its stream ended). Safe to call more than once. */
  disconnect(connection: ComponentConnection): void {
    for (const entry of this.entries) {
      if (entry.connection === connection) {
        this.remove(entry);
        this.log.info('component_disconnected', { name: entry.registration.name, domains: entry.registration.domains });
      }
    }
  }

  /** The connected components, for admin listings. */
  listComponents(): ComponentInfo[] {
    return [...this.entries].map((e) => ({
      name: e.registration.name,
      domains: [...e.registration.domains],
      hidden: e.registration.hidden,
      transport: e.registration.transport,
      remoteAddress: e.registration.remoteAddress,
      listenerPort: e.registration.listenerPort,
      connectedAt: e.connectedAt,
    }));
  }

  /** Whether a connected component owns the domain. */
  has(domain: string): boolean {
    return this.byDomain.has(domain);
  }

  /** Whether the component owning the domain came through a hidden_components listener. */
  isHidden(domain: string): boolean {
    return this.byDomain.get(domain)?.registration.hidden ?? false;
  }

  /** Component domains listed in `host`'s disco#items: those that are subdomains of the host. */
  discoDomains(host: string): Array<{ domain: string; hidden: boolean }> {
    const suffix = '.' + host;
    const out: Array<{ domain: string; hidden: boolean }> = [];
    for (const [domain, entry] of this.byDomain) {
      if (domain.endsWith(suffix)) out.push({ domain, hidden: entry.registration.hidden });
    }
    return out.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  /** Closes every component stream (server shutdown). */
  closeAll(condition: StreamErrorCondition, text: string): void {
    for (const entry of [...this.entries]) {
      entry.connection.kick(condition, text);
      this.remove(entry);
    }
  }

  stop(): void {
    this.removeHook();
  }

  private requesterIsLocalUser(local: string, domain: string): boolean {
    return local !== '' && this.router.isLocal(domain);
  }

  private remove(entry: Entry): void {
    if (!this.entries.delete(entry)) return;
    for (const undo of entry.removeRoutes) undo();
    for (const domain of entry.registration.domains) {
      if (this.byDomain.get(domain) === entry) this.byDomain.delete(domain);
    }
  }
}
