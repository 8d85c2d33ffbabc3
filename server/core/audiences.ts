// Audiences: named groups of one account's sessions — "fetched the roster", "enabled
// carbons", "asked for the block list" — that a stanza for "all those resources" goes to.
//
// A module defines an audience once per host with a predicate over a session. The predicate
// reads state the module keeps about its own sessions, and that state lives in the process
// holding the session. So when an account's sessions are spread over the workers of a node,
// the router does not ask other workers for their flags: it hands the stanza and the
// audience's *name* to every worker holding sessions of the account, and each one evaluates
// the predicate on its own sessions (Router.deliverToAudience / routeAudienceFromPeer).
// Every worker runs the same modules, so a name means the same predicate everywhere.
//
// Two audiences exist on every host without a module: every bound session, and the
// available ones (initial presence sent, not since unavailable).

import type { Session } from './sessions.ts';

export interface Audience {
  readonly host: string;
  readonly name: string;
  /** Whether a session of this process belongs to the audience. Synchronous, cheap, no side effects. */
  includes(session: Session): boolean;
}

export const ALL_RESOURCES = 'all_resources';
export const AVAILABLE_RESOURCES = 'available_resources';

const BUILT_IN: ReadonlyMap<string, (session: Session) => boolean> = new Map([
  [ALL_RESOURCES, () => true],
  [AVAILABLE_RESOURCES, (s: Session) => s.available],
]);

export class AudienceRegistry {
  private readonly byHost = new Map<string, Map<string, Audience>>();

  /**
   * Defines an audience of `host`; returns it and its removal. A name is defined once per
   * host (a second definition throws: two modules would disagree on who gets a stanza).
   */
  define(host: string, name: string, includes: (session: Session) => boolean): { audience: Audience; remove: () => void } {
    if (BUILT_IN.has(name)) throw new Error(`audience ${name} is built in`);
    let names = this.byHost.get(host);
    if (names === undefined) this.byHost.set(host, (names = new Map()));
    if (names.has(name)) throw new Error(`audience ${name} is already defined on ${host}`);
    const audience: Audience = { host, name, includes };
    names.set(name, audience);
    return {
      audience,
      remove: () => {
        if (names.get(name) === audience) names.delete(name);
      },
    };
  }

  /** The audience of `host` with this name; a built-in one for any host. */
  get(host: string, name: string): Audience | undefined {
    const builtIn = BUILT_IN.get(name);
    if (builtIn !== undefined) return { host, name, includes: builtIn };
    return this.byHost.get(host)?.get(name);
  }
}

/** A built-in audience of `host` (ALL_RESOURCES, AVAILABLE_RESOURCES). */
export function builtInAudience(host: string, name: typeof ALL_RESOURCES | typeof AVAILABLE_RESOURCES): Audience {
  return { host, name, includes: BUILT_IN.get(name)! };
}
