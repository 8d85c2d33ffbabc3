// Which mechanisms a connection is offered, in the configured preference order, and the
// single entry point the stream layer uses to start one.
//
// Rules: a mechanism is offered when it is configured, the connection can support it
// (`isAvailable`: -PLUS needs channel binding data), and TLS policy allows it — PLAIN only
// on encrypted connections unless `allow_unencrypted_plain` is set. EXTERNAL (XEP-0178)
// is available only on connections whose client certificate passed verification.

import { createExternalMechanism, externalMechanism, type ExternalOptions } from './external.ts';
import { plainMechanism } from './plain.ts';
import {
  scramSha1Mechanism,
  scramSha1PlusMechanism,
  scramSha256Mechanism,
  scramSha256PlusMechanism,
  scramSha512Mechanism,
  scramSha512PlusMechanism,
} from './scram/mechanisms.ts';
import type { SaslConnectionInfo, SaslContext, SaslExchange, SaslMechanism, SaslStep } from './types.ts';

export const KNOWN_MECHANISMS: readonly SaslMechanism[] = [
  scramSha512PlusMechanism,
  scramSha256PlusMechanism,
  scramSha1PlusMechanism,
  scramSha512Mechanism,
  scramSha256Mechanism,
  scramSha1Mechanism,
  plainMechanism,
  externalMechanism,
];

/** Strongest first; also the order used when the configuration does not give one. */
export const DEFAULT_SASL_MECHANISMS: readonly string[] = KNOWN_MECHANISMS.map((m) => m.name);

export type SaslConfig = {
  /** Mechanism names in preference order. */
  sasl_mechanisms?: readonly string[];
  /** Offer PLAIN on unencrypted connections too (development setups only). */
  allow_unencrypted_plain?: boolean;
  /** EXTERNAL's identity rules (`[auth] sasl_external`); default: XEP-0178 standard only. */
  external?: ExternalOptions;
};

export type MechanismRegistry = {
  /** Names to put in <mechanisms/> for this connection, in preference order. */
  offered(conn: SaslConnectionInfo): string[];
  /**
   * Start the mechanism the client chose. Refuses with invalid-mechanism a name not
   * offered here, and with encryption-required one that is only withheld for lack of TLS.
   */
  start(name: string, ctx: SaslContext): { ok: true; exchange: SaslExchange } | { ok: false; step: SaslStep & { kind: 'failure' } };
};

export function createMechanismRegistry(config: SaslConfig = {}, known: readonly SaslMechanism[] = KNOWN_MECHANISMS): MechanismRegistry {
  const external = config.external;
  const byName = new Map(known.map((m) => [m.name, m === externalMechanism && external !== undefined ? createExternalMechanism(external) : m]));
  const names = config.sasl_mechanisms ?? DEFAULT_SASL_MECHANISMS;
  const seen = new Set<string>();
  const configured: SaslMechanism[] = [];
  for (const name of names) {
    const mechanism = byName.get(name);
    if (mechanism === undefined) {
      throw new RangeError(`sasl_mechanisms: unknown mechanism "${name}"; known: ${[...byName.keys()].join(', ')}`);
    }
    if (seen.has(name)) throw new RangeError(`sasl_mechanisms: "${name}" listed twice`);
    seen.add(name);
    configured.push(mechanism);
  }
  const allowUnencryptedPlain = config.allow_unencrypted_plain ?? false;

  const tlsAllows = (m: SaslMechanism, conn: SaslConnectionInfo): boolean =>
    conn.channelBinding !== undefined || !m.requiresTls || (m === plainMechanism && allowUnencryptedPlain);

  return {
    offered(conn) {
      return configured.filter((m) => m.isAvailable(conn) && tlsAllows(m, conn)).map((m) => m.name);
    },
    start(name, ctx) {
      const mechanism = configured.find((m) => m.name === name);
      if (mechanism !== undefined && !tlsAllows(mechanism, ctx)) {
        return { ok: false, step: { kind: 'failure', condition: 'encryption-required' } };
      }
      if (mechanism === undefined || !mechanism.isAvailable(ctx)) {
        return { ok: false, step: { kind: 'failure', condition: 'invalid-mechanism' } };
      }
      return { ok: true, exchange: mechanism.start(ctx) };
    },
  };
}
