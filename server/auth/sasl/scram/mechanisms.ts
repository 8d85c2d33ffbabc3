// The six SCRAM mechanism definitions. Names per RFC 5802 / RFC 7677 and the IANA SASL
// registry; -PLUS variants exist only where the TLS layer can give us binding data.

import type { ScramHash } from '../../scram-keys.ts';
import type { SaslConnectionInfo, SaslMechanism } from '../types.ts';
import { SUPPORTED_CHANNEL_BINDINGS, startScramExchange } from './exchange.ts';

function hasChannelBinding(conn: SaslConnectionInfo): boolean {
  const cb = conn.channelBinding;
  return cb !== undefined && SUPPORTED_CHANNEL_BINDINGS.some((type) => cb[type] !== undefined);
}

function scramMechanism(hash: ScramHash, plus: boolean): SaslMechanism {
  return {
    name: `SCRAM-${hash}${plus ? '-PLUS' : ''}`,
    requiresTls: plus,
    requiresChannelBinding: plus,
    isAvailable: plus ? hasChannelBinding : () => true,
    start: (ctx) => startScramExchange({ hash, plus }, ctx),
  };
}

export const scramSha1Mechanism = scramMechanism('SHA-1', false);
export const scramSha1PlusMechanism = scramMechanism('SHA-1', true);
export const scramSha256Mechanism = scramMechanism('SHA-256', false);
export const scramSha256PlusMechanism = scramMechanism('SHA-256', true);
export const scramSha512Mechanism = scramMechanism('SHA-512', false);
export const scramSha512PlusMechanism = scramMechanism('SHA-512', true);
