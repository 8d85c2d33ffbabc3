// From the [guard] and [shaper] configuration to what the guard works with.

import type { GuardConfig, MeerkatConfig } from '../config/meerkat-schema.ts';
import type { GuardSettings } from './guard.ts';

export function guardSettings(c: GuardConfig): GuardSettings {
  return {
    maxConnections: c.max_connections,
    maxConnectionsPerIp: c.max_connections_per_ip,
    authFailuresPerIp: c.auth_failures_per_ip,
    authFailureWindowMs: c.auth_failure_window,
    banMs: c.ban_duration,
    preauthIdleTimeoutMs: c.preauth_idle_timeout,
    preauthMinRate: c.preauth_min_rate,
    maxTrackedAddresses: c.max_tracked_addresses,
  };
}

/** A listener's `shaper` names a [shaper] entry (checked at load); its rate in bytes per second. */
export function shaperRate(config: Pick<MeerkatConfig, 'shaper'>, name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  return config.shaper[name]?.max_rate;
}
