// Checks that span several keys: references between sections, pairs of keys, and
// listeners that would collide. Each failure is a ConfigError at the key to fix.

import { ConfigError, describeValue, type ConfigPath } from './error.ts';
import { BUILTIN_NAMES } from './access.ts';
import type { ParsedConfig } from './meerkat-schema.ts';

/** Returns the file or variable a path's value came from. */
export type SourceOf = (path: ConfigPath) => string;

export function crossCheck(config: ParsedConfig, sourceOf: SourceOf): void {
  const fail = (path: ConfigPath, detail: string): never => {
    throw new ConfigError(sourceOf(path), path, detail);
  };
  const { general, listen } = config;

  if (general.default_server_domain !== undefined && !general.hosts.includes(general.default_server_domain)) {
    fail(['general', 'default_server_domain'],
      `expected one of general.hosts, got ${describeValue(general.default_server_domain)}`);
  }

  const accessNames = [...BUILTIN_NAMES, ...Object.keys(config.access)];
  const aclNames = [...BUILTIN_NAMES, ...Object.keys(config.acl)];
  const shaperNames = Object.keys(config.shaper);

  for (const [rule, entries] of Object.entries(config.access)) {
    entries.forEach((entry, i) => {
      if (!aclNames.includes(entry.acl)) {
        fail(['access', rule, i, 'acl'], `expected the name of an ACL (${aclNames.join(', ')}), got ${describeValue(entry.acl)}`);
      }
    });
  }

  const kinds = ['c2s', 'http', 'component'] as const;
  const bound = new Map<string, string>();
  for (const kind of kinds) {
    listen[kind].forEach((listener, i) => {
      const at = (key: string): ConfigPath => ['listen', kind, i, key];
      if (listener.shaper !== undefined && !shaperNames.includes(listener.shaper)) {
        fail(at('shaper'), `expected the name of a [shaper] entry (${shaperNames.join(', ') || 'none defined'}), got ${describeValue(listener.shaper)}`);
      }
      if (listener.access !== undefined && !accessNames.includes(listener.access)) {
        fail(at('access'), `expected the name of an [access] rule (${accessNames.join(', ')}), got ${describeValue(listener.access)}`);
      }
      const wsComponentAccess = 'handlers' in listener ? listener.handlers.websocket?.component?.access : undefined;
      if (wsComponentAccess !== undefined && !accessNames.includes(wsComponentAccess)) {
        fail(['listen', kind, i, 'handlers', 'websocket', 'component', 'access'],
          `expected the name of an [access] rule (${accessNames.join(', ')}), got ${describeValue(wsComponentAccess)}`);
      }
      if ('certfile' in listener || 'keyfile' in listener) {
        const { certfile, keyfile } = listener as { certfile?: string; keyfile?: string };
        if (certfile !== undefined && keyfile === undefined) fail(at('keyfile'), 'expected a file system path (certfile is set), got nothing');
        if (keyfile !== undefined && certfile === undefined) fail(at('certfile'), 'expected a file system path (keyfile is set), got nothing');
      }
      // A wildcard address takes the port on every interface, so it collides with any other.
      const address = `${listener.ip_address}|${listener.port}`;
      for (const [other, where] of bound) {
        const [otherIp, otherPort] = other.split('|');
        const wildcard = (ip: string) => ip === '0.0.0.0' || ip === '::';
        if (Number(otherPort) === listener.port && (otherIp === listener.ip_address || wildcard(otherIp!) || wildcard(listener.ip_address))) {
          fail(at('port'), `expected a port not used by ${where}, got ${listener.port}`);
        }
      }
      bound.set(address, `listen.${kind}[${i}]`);
    });
  }

  for (const [tag, pool] of Object.entries(config.outgoing_pools.redis)) {
    // Redis Cluster has only database 0.
    if (pool.cluster_nodes !== undefined && pool.database !== 0) {
      fail(['outgoing_pools', 'redis', tag, 'database'], `expected 0 with cluster_nodes, got ${pool.database}`);
    }
  }
}
