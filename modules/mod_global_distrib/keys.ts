// Redis keys of the routing table. Parts that come from JIDs or names are base64url-encoded,
// so no byte a user controls (':', '#', '{', '}', '*', a newline) can end up as key syntax:
// 'alice@x/a:b' and 'alice@x/a' + ':b' can never meet in one key (security rule 11).
//
// Redis Cluster: the hash tag {…} is the encoded bare JID (or cluster name), so a full JID's
// key and its bare JID's key live in one slot and are read with one MGET.

const PREFIX = 'gd:';

export function encodePart(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

export function decodePart(encoded: string): string {
  return Buffer.from(encoded, 'base64url').toString('utf8');
}

/** Key of a bare JID's entry (the cluster its user was last seen on). */
export function bareKey(bare: string): string {
  return `${PREFIX}{u.${encodePart(bare)}}:b`;
}

/** Key of a full JID's entry; `resource` is non-empty. */
export function fullKey(bare: string, resource: string): string {
  return `${PREFIX}{u.${encodePart(bare)}}:f:${encodePart(resource)}`;
}

/** Domains (components) a cluster serves: hash domain → "1" when hidden, "0" otherwise. */
export function domainsKey(cluster: string): string {
  return `${PREFIX}{c.${encodePart(cluster)}}:domains`;
}

/** Where a cluster accepts links: JSON array of "host:port". */
export function endpointsKey(cluster: string): string {
  return `${PREFIX}{c.${encodePart(cluster)}}:endpoints`;
}

/** Heartbeat of one node of a cluster: its last refresh time, expiring with the entries. */
export function heartbeatKey(cluster: string, node: string): string {
  return `${PREFIX}{c.${encodePart(cluster)}}:node:${encodePart(node)}`;
}

/** Sorted set of cluster names scored by their last refresh (ms). */
export const CLUSTERS_KEY = `${PREFIX}clusters`;
