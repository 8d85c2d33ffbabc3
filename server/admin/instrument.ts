// Metrics that need no change on the hot paths: read from what the core already counts
// (router statistics, session table, tokenizer bytes) or taken from hooks that run anyway
// (stanzas out by kind, error stanzas in and out).

import { ANY_HOST } from '../core/hooks.ts';
import type { Core } from '../core/node.ts';
import type { Metrics } from '../metrics.ts';
import { FAST_BUCKETS } from '../metrics.ts';
import { XmlStream } from '../../parser-wasm/host/stream.ts';
import { transportOf } from './commands/sessions.ts';

// Hook priorities: first (sees every stanza sent) and last (counts only what is written).
const FIRST = -1_000_000;
const LAST = 1_000_000;

const KINDS = new Set(['message', 'presence', 'iq']);
const kindOf = (kind: string): string => (KINDS.has(kind) ? kind : 'other');

export function describeAdminMetrics(m: Metrics): void {
  m.describe('stanzas_out_total', 'Stanzas written to local sessions, by kind.');
  m.describe('error_stanzas_total', 'Error stanzas, by direction (in: sent by local clients; out: written to them) and kind.');
  m.describe('sessions_by_transport', 'Bound sessions on this node, by transport.');
  m.describe('routing_latency_seconds', 'Time to route one stanza from a client (synchronous part).');
  m.describe('parser_bytes_total', 'Bytes fed to the XML tokenizer by every stream of this process.');
  m.describe('router_routed_total', 'Stanzas routed.');
  m.describe('router_delivered_total', 'Stanzas delivered to local sessions.');
  m.describe('router_bounced_total', 'Stanzas answered with an error by the router.');
  m.describe('router_hop_limit_drops_total', 'Stanzas dropped by the hop budget (routing loops).');
  m.describe('bosh_sessions', 'Live BOSH sessions.');
  m.describe('registered_hosts', 'Hosts served by this node.');
  m.describe('auth_failures_by_mechanism_total', 'Failed SASL authentications, by mechanism.');
  m.buckets('routing_latency_seconds', FAST_BUCKETS);
}

/** Installs the counters and gauges above on one node. Returns the hook removers. */
export function instrumentCore(metrics: Metrics, core: Core): Array<() => void> {
  const stats = core.router.stats;
  metrics.counterFrom('router_routed_total', () => stats.routed);
  metrics.counterFrom('router_delivered_total', () => stats.delivered);
  metrics.counterFrom('router_bounced_total', () => stats.bounced);
  metrics.counterFrom('router_hop_limit_drops_total', () => stats.hopLimitDrops);
  metrics.counterFrom('parser_bytes_total', () => XmlStream.bytesFed);
  metrics.gauge('registered_hosts', () => core.hosts.length);
  metrics.gaugeByLabel('sessions_by_transport', 'transport', () => {
    const counts: Record<string, number> = {};
    for (const s of core.sessions.all()) counts[transportOf(s)] = (counts[transportOf(s)] ?? 0) + 1;
    return counts;
  });
  return [
    core.hooks.add('user_send_packet', ANY_HOST, ({ packet }) => {
      if (packet.type === 'error') metrics.inc('error_stanzas_total', { direction: 'in', kind: kindOf(packet.kind) });
    }, FIRST),
    core.hooks.add('user_receive_packet', ANY_HOST, ({ packet }) => {
      const kind = kindOf(packet.kind);
      metrics.inc('stanzas_out_total', { kind });
      if (packet.type === 'error') metrics.inc('error_stanzas_total', { direction: 'out', kind });
    }, LAST),
  ];
}
