// Global Distribution's series in the node's /metrics. Peer labels are cluster names, a
// short list the operator configures, so the series count stays bounded.

import type { Metrics } from '../../server/metrics.ts';

export interface GdMetrics {
  sent(peer: string): void;
  received(peer: string): void;
  returned(reason: string): void;
  redisLatency(seconds: number): void;
  redisError(): void;
  /** A link refused because the certificate did not name the cluster at the other end. */
  identityMismatch(direction: 'inbound' | 'outbound'): void;
}

export interface GdGauges {
  heldStanzas(): number;
  linkConnections(): Record<string, number>;
  pendingPerPeer(): Record<string, number>;
  redisPending(): number;
}

export function gdMetrics(metrics: Metrics | undefined, gauges: GdGauges): GdMetrics {
  if (metrics === undefined) {
    const nothing = (): void => {};
    return { sent: nothing, received: nothing, returned: nothing, redisLatency: nothing, redisError: nothing, identityMismatch: nothing };
  }
  metrics.describe('gd_messages_out_total', 'Stanzas forwarded to another cluster, by peer.');
  metrics.describe('gd_messages_in_total', 'Stanzas received from another cluster, by peer.');
  metrics.describe('gd_returned_total', 'Stanzas returned to their sender with an error, by reason.');
  metrics.describe('gd_bounce_queue_size', 'Stanzas held until their recipient is known.');
  metrics.describe('gd_link_connections', 'Open links to each peer cluster.');
  metrics.describe('gd_link_pending', 'Stanzas sent to each peer and not yet acknowledged.');
  metrics.describe('gd_redis_latency_seconds', 'Routing-table command latency.');
  metrics.describe('gd_redis_errors_total', 'Routing-table commands that failed or timed out.');
  metrics.describe('gd_redis_pending', 'Routing-table commands in flight or queued.');
  metrics.describe('gd_link_identity_mismatch_total', 'Links closed because the peer certificate did not name the cluster, by direction.');
  metrics.gauge('gd_bounce_queue_size', gauges.heldStanzas);
  metrics.gauge('gd_redis_pending', gauges.redisPending);
  metrics.gaugeByLabel('gd_link_connections', 'peer', gauges.linkConnections);
  metrics.gaugeByLabel('gd_link_pending', 'peer', gauges.pendingPerPeer);
  return {
    sent: (peer) => metrics.inc('gd_messages_out_total', { peer }),
    received: (peer) => metrics.inc('gd_messages_in_total', { peer }),
    returned: (reason) => metrics.inc('gd_returned_total', { reason }),
    redisLatency: (seconds) => metrics.observe('gd_redis_latency_seconds', seconds),
    redisError: () => metrics.inc('gd_redis_errors_total'),
    identityMismatch: (direction) => metrics.inc('gd_link_identity_mismatch_total', { direction }),
  };
}
