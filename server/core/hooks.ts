// The hook catalogue: every hook the core and the modules run, with its arguments, in one file.
//
// Run contract
//   - Handlers run in ascending priority: priority 10 runs before priority 50 (default 50).
//     Equal priorities run in the order they were added. Handlers added for ANY_HOST run
//     for every host, interleaved with that host's handlers by the same ordering.
//   - A handler stops the chain by returning STOP. The caller then learns the chain was
//     stopped (run returns false) and the hook's documentation says what that means —
//     usually "handled, do not do the default". Returning nothing continues the chain.
//   - Handlers communicate through their argument object: fold-style hooks carry an
//     accumulator (e.g. `features: string[]`) that handlers push to.
//   - A handler that throws is logged (what: 'hook_handler_failed') and the next one runs.
//     A throw never stops the chain and never reaches the code that ran the hook.
//   - Hooks in SyncHooks run synchronously to the end (the routing path must not wait).
//     A handler there that returns a promise is a bug: it is logged and not awaited.
//     Hooks in AsyncHooks are run with runAsync, which awaits each handler in turn.
//   - Adding or removing handlers while a hook runs does not affect that run.

import type { Element } from '../xml/element.ts';
import type { Jid } from '../jid.ts';
import type { Packet } from './packet.ts';
import type { Session } from './sessions.ts';
import { logger as rootLogger, type Logger } from '../log.ts';

export const STOP = 'stop';
export type HookResult = void | typeof STOP;

/** Host key for handlers that run for every host. */
export const ANY_HOST = '*';

export const DEFAULT_PRIORITY = 50;

export interface DiscoItem {
  jid: string;
  node?: string;
  name?: string;
  /**
   * A hidden service (MongooseIM's hidden components): reachable by anyone, listed to local
   * users only when mod_disco's users_can_see_hidden_services allows it.
   */
  hidden?: boolean;
}

/** Hooks run synchronously (on the routing path). */
export interface SyncHooks {
  /** A local user's stream accepted a stanza, before routing. Run by the stream. STOP: do not route (the handler answered or dropped it). */
  user_send_packet: { session: Session; packet: Packet };
  /** A stanza is about to be written to a local session. Run by the router. STOP: do not deliver. */
  user_receive_packet: { session: Session; packet: Packet };
  /** Any stanza addressed to a local domain (user, resource or the domain itself), before delivery rules. STOP: the handler took the packet (delivered, stored or deliberately dropped it). */
  filter_local_packet: { packet: Packet };
  /**
   * A stanza for a local user with no session for its JID anywhere on this node (a full JID:
   * that resource is not bound; a bare JID: no resource is) — in this process or another
   * worker of it — before the RFC 6121 §8.5 rules for that case (unknown user, offline
   * storage, error, ignore). STOP: the handler took the packet (e.g. forwarded it to another
   * cluster, or holds it; detach() first). Otherwise those rules apply.
   */
  user_not_connected: { packet: Packet; to: Jid };
  /** A message or presence addressed to the server itself (no localpart). STOP: handled; otherwise messages are answered with service-unavailable and presence is dropped. */
  local_packet: { packet: Packet };
  /** A chat/normal message for a local user with no resource to deliver to. STOP: stored (the handler must detach() the packet); otherwise service-unavailable is returned. */
  offline_message: { packet: Packet; to: Jid };
  /** Presence probe for a local user (RFC 6121 §4.3). STOP: answered; otherwise dropped. */
  presence_probe: { packet: Packet; to: Jid };
  /** Subscription request or answer (subscribe, subscribed, unsubscribe, unsubscribed) for a local user. STOP: handled; otherwise delivered to the available resources. */
  roster_in_subscription: { packet: Packet; to: Jid };
  /** A session sent initial presence or changed it while available. */
  user_available: { session: Session; presence: Packet };
  /** An available session became unavailable (unavailable presence or disconnect). */
  unset_presence: { session: Session; status: string };
  /** A session was bound and entered the session table. */
  session_opened: { session: Session };
  /** A session left the session table (after sm_remove_connection). */
  session_closed: { session: Session; reason: string };
  /**
   * The node is stopping: every stream has been told (system-shutdown) and no module has
   * stopped yet. Modules holding stanzas for sessions without a stream (stream management's
   * hibernating sessions) hand them on now, while offline storage still runs.
   */
  node_stopping: Record<string, never>;
  /** A session is being removed from the session table (stream closed, replaced, kicked). */
  sm_remove_connection: { session: Session; reason: string };
  /**
   * disco#info on the server: push feature namespaces. mod_disco hashes what handlers push
   * for the server itself into the entity capabilities of c2s_stream_features, so for that
   * requester they follow the same rule: only from what is registered.
   */
  disco_local_features: { host: string; from: Jid; node: string; features: string[] };
  /** disco#items on the server: push items. */
  disco_local_items: { host: string; from: Jid; node: string; items: DiscoItem[] };
  /** disco#info on a user's bare JID: push feature namespaces. */
  disco_sm_features: { to: Jid; from: Jid; node: string; features: string[] };
  /**
   * A c2s stream is sending <stream:features/>: push extra feature elements (CSI, in-band
   * registration). What a handler pushes must follow from the arguments, its module's
   * options and what is registered (hooks, disco features): listeners keep the result per
   * host and state and run the hook again only after a handler or a feature was added or
   * removed.
   */
  c2s_stream_features: { host: string; authenticated: boolean; features: Element[] };
  /** A bound c2s stream got a top-level element it does not know (CSI's <active/>, ...). STOP: handled; otherwise the stream closes with unsupported-stanza-type. */
  c2s_stream_element: { session: Session; element: Element };
}

/** Hooks that may wait for storage; run with runAsync. */
export interface AsyncHooks {
  /** The roster of a user is being fetched: push <item/> elements. */
  roster_get: { jid: Jid; items: Element[] };
  /** An account was created. */
  register_user: { jid: Jid };
  /** An account is being removed: drop its data. */
  remove_user: { jid: Jid };
  /**
   * An IQ on a c2s stream before authentication (only jabber:iq:register is let through).
   * A handler that answers sets `reply` and returns STOP; with no reply the stream answers
   * service-unavailable.
   */
  c2s_unauthenticated_iq: { host: string; remoteAddress: string; stanza: Element; reply?: Element };
}

export type SyncHookName = keyof SyncHooks;
export type AsyncHookName = keyof AsyncHooks;
export type HookName = SyncHookName | AsyncHookName;
export type HookArgs<N extends HookName> = N extends SyncHookName ? SyncHooks[N] : N extends AsyncHookName ? AsyncHooks[N] : never;

export type HookHandler<N extends HookName> = N extends AsyncHookName
  ? (args: AsyncHooks[N]) => HookResult | Promise<HookResult>
  : N extends SyncHookName
    ? (args: SyncHooks[N]) => HookResult
    : never;

interface Entry {
  readonly handler: (args: never) => unknown;
  readonly priority: number;
  readonly seq: number;
}

const NONE: readonly Entry[] = [];

export class Hooks {
  // hook name → host → handlers sorted by (priority, seq). Arrays are replaced, never
  // mutated, so a run iterates a stable snapshot without copying.
  private readonly table = new Map<string, Map<string, readonly Entry[]>>();
  private seq = 0;
  private changes = 0;
  private readonly log: Logger;

  constructor(log: Logger = rootLogger) {
    this.log = log;
  }

  /** Adds a handler; returns the function that removes it. */
  add<N extends HookName>(name: N, host: string, handler: HookHandler<N>, priority: number = DEFAULT_PRIORITY): () => void {
    const entry: Entry = { handler: handler as (args: never) => unknown, priority, seq: this.seq++ };
    let byHost = this.table.get(name);
    if (!byHost) this.table.set(name, (byHost = new Map()));
    const list = [...(byHost.get(host) ?? NONE), entry];
    list.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
    byHost.set(host, list);
    this.changes++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const current = byHost.get(host) ?? NONE;
      const next = current.filter((e) => e !== entry);
      if (next.length === 0) byHost.delete(host);
      else byHost.set(host, next);
      this.changes++;
    };
  }

  /**
   * Changes whenever a handler is added or removed: what is derived from running a hook
   * whose handlers depend only on what is registered (c2s_stream_features) stays valid
   * while this stays the same.
   */
  get generation(): number {
    return this.changes;
  }

  /** Number of handlers that would run for this hook and host. */
  count(name: HookName, host: string): number {
    const byHost = this.table.get(name);
    if (!byHost) return 0;
    return (byHost.get(host)?.length ?? 0) + (host === ANY_HOST ? 0 : byHost.get(ANY_HOST)?.length ?? 0);
  }

  /** Runs a synchronous hook. Returns false when a handler stopped the chain. */
  run<N extends SyncHookName>(name: N, host: string, args: SyncHooks[N]): boolean {
    const byHost = this.table.get(name);
    if (byHost === undefined) return true;
    const own = byHost.get(host) ?? NONE;
    const any = host === ANY_HOST ? NONE : byHost.get(ANY_HOST) ?? NONE;
    let i = 0;
    let j = 0;
    while (i < own.length || j < any.length) {
      const entry = pickNext(own, i, any, j);
      if (entry === own[i]) i++;
      else j++;
      let result: unknown;
      try {
        result = (entry.handler as (a: SyncHooks[N]) => unknown)(args);
      } catch (err) {
        this.log.warn('hook_handler_failed', { hook: name, host, error: err });
        continue;
      }
      if (result === STOP) return false;
      if (isThenable(result)) {
        this.log.warn('hook_handler_async_in_sync_hook', { hook: name, host });
        result.then(undefined, (err: unknown) => this.log.warn('hook_handler_failed', { hook: name, host, error: err }));
      }
    }
    return true;
  }

  /** Runs an asynchronous hook, awaiting each handler in order. Resolves false when stopped. */
  async runAsync<N extends AsyncHookName>(name: N, host: string, args: AsyncHooks[N]): Promise<boolean> {
    const byHost = this.table.get(name);
    if (byHost === undefined) return true;
    const own = byHost.get(host) ?? NONE;
    const any = host === ANY_HOST ? NONE : byHost.get(ANY_HOST) ?? NONE;
    let i = 0;
    let j = 0;
    while (i < own.length || j < any.length) {
      const entry = pickNext(own, i, any, j);
      if (entry === own[i]) i++;
      else j++;
      try {
        const result = await (entry.handler as (a: AsyncHooks[N]) => unknown)(args);
        if (result === STOP) return false;
      } catch (err) {
        this.log.warn('hook_handler_failed', { hook: name, host, error: err });
      }
    }
    return true;
  }
}

function pickNext(own: readonly Entry[], i: number, any: readonly Entry[], j: number): Entry {
  if (i >= own.length) return any[j];
  if (j >= any.length) return own[i];
  const a = own[i];
  const b = any[j];
  return a.priority < b.priority || (a.priority === b.priority && a.seq < b.seq) ? a : b;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
