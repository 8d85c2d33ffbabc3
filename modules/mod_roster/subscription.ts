// The subscription state machine of RFC 6121 Appendix A, as data.
//
// A state is the item's subscription plus two flags: "Pending Out" (the user asked the contact
// and waits, `ask`) and "Pending In" (the contact asked the user and waits). Each table row says
// what a subscription stanza does in that state: the new state (undefined: no change) and
// whether the stanza goes on (routed to the contact for outbound stanzas, delivered to the
// user for inbound ones). Pre-approval (§3.4) and the auto-reply to a subscribe from someone
// who already has a subscription (§3.1.3) are decided by the callers, which see the flags.

import type { Subscription } from '../../server/storage/roster.ts';

export interface SubState {
  readonly subscription: Subscription;
  readonly pendingOut: boolean;
  readonly pendingIn: boolean;
}

export type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

export interface Transition {
  /** The new state; undefined when the state does not change. */
  readonly next: SubState | undefined;
  /** Outbound: route to the contact. Inbound: deliver to the user. */
  readonly forward: boolean;
}

export const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/** The nine states of Appendix A, by their names there. */
export type StateName =
  | 'None' | 'None + Pending Out' | 'None + Pending In' | 'None + Pending Out/In'
  | 'To' | 'To + Pending In' | 'From' | 'From + Pending Out' | 'Both';

export const STATE_NAMES: readonly StateName[] = [
  'None', 'None + Pending Out', 'None + Pending In', 'None + Pending Out/In',
  'To', 'To + Pending In', 'From', 'From + Pending Out', 'Both',
];

const STATES: Record<StateName, SubState> = {
  'None': { subscription: 'none', pendingOut: false, pendingIn: false },
  'None + Pending Out': { subscription: 'none', pendingOut: true, pendingIn: false },
  'None + Pending In': { subscription: 'none', pendingOut: false, pendingIn: true },
  'None + Pending Out/In': { subscription: 'none', pendingOut: true, pendingIn: true },
  'To': { subscription: 'to', pendingOut: false, pendingIn: false },
  'To + Pending In': { subscription: 'to', pendingOut: false, pendingIn: true },
  'From': { subscription: 'from', pendingOut: false, pendingIn: false },
  'From + Pending Out': { subscription: 'from', pendingOut: true, pendingIn: false },
  'Both': { subscription: 'both', pendingOut: false, pendingIn: false },
};

export function stateOf(name: StateName): SubState {
  return STATES[name];
}

/** The Appendix A name of a state. Flags that cannot go with a subscription are ignored (To never waits for its own answer, etc.). */
export function nameOf(state: SubState): StateName {
  switch (state.subscription) {
    case 'none':
      return state.pendingOut ? (state.pendingIn ? 'None + Pending Out/In' : 'None + Pending Out') : state.pendingIn ? 'None + Pending In' : 'None';
    case 'to':
      return state.pendingIn ? 'To + Pending In' : 'To';
    case 'from':
      return state.pendingOut ? 'From + Pending Out' : 'From';
    case 'both':
      return 'Both';
  }
}

/** [next state or null for "no change", forward?] per state, in STATE_NAMES order. */
type Table = Record<StateName, readonly [StateName | null, boolean]>;

// A.2.1 Outbound "subscribe". Routed in every state (§3.1.2): the contact's server answers a
// repeated request itself, which also repairs a state the two servers disagree on.
const OUT_SUBSCRIBE: Table = {
  'None': ['None + Pending Out', true],
  'None + Pending Out': [null, true],
  'None + Pending In': ['None + Pending Out/In', true],
  'None + Pending Out/In': [null, true],
  'To': [null, true],
  'To + Pending In': [null, true],
  'From': ['From + Pending Out', true],
  'From + Pending Out': [null, true],
  'Both': [null, true],
};

// A.2.2 Outbound "unsubscribe": routed in every state (§3.3.2).
const OUT_UNSUBSCRIBE: Table = {
  'None': [null, true],
  'None + Pending Out': ['None', true],
  'None + Pending In': [null, true],
  'None + Pending Out/In': ['None + Pending In', true],
  'To': ['None', true],
  'To + Pending In': ['None + Pending In', true],
  'From': [null, true],
  'From + Pending Out': ['From', true],
  'Both': ['From', true],
};

// A.2.3 Outbound "subscribed": only an answer to a pending request is routed; in None,
// None + Pending Out and To it is a pre-approval instead (§3.4).
const OUT_SUBSCRIBED: Table = {
  'None': [null, false],
  'None + Pending Out': [null, false],
  'None + Pending In': ['From', true],
  'None + Pending Out/In': ['From + Pending Out', true],
  'To': [null, false],
  'To + Pending In': ['Both', true],
  'From': [null, false],
  'From + Pending Out': [null, false],
  'Both': [null, false],
};

// A.2.4 Outbound "unsubscribed": routed when it denies a request or cancels a subscription.
const OUT_UNSUBSCRIBED: Table = {
  'None': [null, false],
  'None + Pending Out': [null, false],
  'None + Pending In': ['None', true],
  'None + Pending Out/In': ['None + Pending Out', true],
  'To': [null, false],
  'To + Pending In': ['To', true],
  'From': ['None', true],
  'From + Pending Out': ['None + Pending Out', true],
  'Both': ['To', true],
};

// A.3.1 Inbound "subscribe". In From, From + Pending Out and Both the server answers
// "subscribed" itself (§3.1.3) and the user sees nothing.
const IN_SUBSCRIBE: Table = {
  'None': ['None + Pending In', true],
  'None + Pending Out': ['None + Pending Out/In', true],
  'None + Pending In': [null, false],
  'None + Pending Out/In': [null, false],
  'To': ['To + Pending In', true],
  'To + Pending In': [null, false],
  'From': [null, false],
  'From + Pending Out': [null, false],
  'Both': [null, false],
};

// A.3.2 Inbound "unsubscribe".
const IN_UNSUBSCRIBE: Table = {
  'None': [null, false],
  'None + Pending Out': [null, false],
  'None + Pending In': ['None', true],
  'None + Pending Out/In': ['None + Pending Out', true],
  'To': [null, false],
  'To + Pending In': ['To', true],
  'From': ['None', true],
  'From + Pending Out': ['None + Pending Out', true],
  'Both': ['To', true],
};

// A.3.3 Inbound "subscribed": counts only as the answer to the user's own request.
const IN_SUBSCRIBED: Table = {
  'None': [null, false],
  'None + Pending Out': ['To', true],
  'None + Pending In': [null, false],
  'None + Pending Out/In': ['To + Pending In', true],
  'To': [null, false],
  'To + Pending In': [null, false],
  'From': [null, false],
  'From + Pending Out': ['Both', true],
  'Both': [null, false],
};

// A.3.4 Inbound "unsubscribed".
const IN_UNSUBSCRIBED: Table = {
  'None': [null, false],
  'None + Pending Out': ['None', true],
  'None + Pending In': [null, false],
  'None + Pending Out/In': ['None + Pending In', true],
  'To': ['None', true],
  'To + Pending In': ['None + Pending In', true],
  'From': [null, false],
  'From + Pending Out': ['From', true],
  'Both': ['From', true],
};

const OUTBOUND: Record<SubscriptionType, Table> = {
  subscribe: OUT_SUBSCRIBE,
  unsubscribe: OUT_UNSUBSCRIBE,
  subscribed: OUT_SUBSCRIBED,
  unsubscribed: OUT_UNSUBSCRIBED,
};

const INBOUND: Record<SubscriptionType, Table> = {
  subscribe: IN_SUBSCRIBE,
  unsubscribe: IN_UNSUBSCRIBE,
  subscribed: IN_SUBSCRIBED,
  unsubscribed: IN_UNSUBSCRIBED,
};

function apply(table: Table, state: SubState): Transition {
  const [next, forward] = table[nameOf(state)];
  return { next: next === null ? undefined : STATES[next], forward };
}

/** A subscription stanza the user sent to the contact. */
export function outbound(type: SubscriptionType, state: SubState): Transition {
  return apply(OUTBOUND[type], state);
}

/** A subscription stanza the contact sent to the user. */
export function inbound(type: SubscriptionType, state: SubState): Transition {
  return apply(INBOUND[type], state);
}

/** The contact receives the user's presence. */
export function hasFrom(sub: Subscription): boolean {
  return sub === 'from' || sub === 'both';
}

/** The user receives the contact's presence. */
export function hasTo(sub: Subscription): boolean {
  return sub === 'to' || sub === 'both';
}
