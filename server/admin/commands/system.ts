// The node itself: statistics, log level, components, modules and services, the
// configuration check, status and stop.

import { LOG_LEVELS } from '../../config/meerkat-schema.ts';
import type { LogLevel } from '../../log.ts';
import { checkConfigFile } from '../config-check.ts';
import { defineCommand, fail } from '../command.ts';
import type { AdminNode } from '../node.ts';
import { notRunning } from './sessions.ts';

export interface NodeStats {
  readonly state: string;
  readonly registered: number;
  readonly online: number;
  readonly onlineUsers: number;
  readonly uptimeSeconds: number;
  readonly stanzasIn: number;
  readonly stanzasOut: number;
  readonly routed: number;
  readonly bounced: number;
}

export async function nodeStats(node: AdminNode): Promise<NodeStats> {
  const storage = await node.storage();
  let registered = 0;
  for (const host of node.config.general.hosts) registered += await storage.users.count(host);
  const metrics = node.metrics;
  return {
    state: node.state(),
    registered,
    online: node.core?.sessions.size ?? 0,
    onlineUsers: node.core?.sessions.users ?? 0,
    uptimeSeconds: metrics ? Math.round((Date.now() - metrics.startedAt) / 1000) : 0,
    stanzasIn: metrics?.total('stanzas_in_total') ?? 0,
    stanzasOut: metrics?.total('stanzas_out_total') ?? 0,
    routed: node.core?.router.stats.routed ?? 0,
    bounced: node.core?.router.stats.bounced ?? 0,
  };
}

export const stats = defineCommand({
  name: ['node', 'stats'],
  group: 'stats',
  summary: 'registered accounts, online sessions, uptime, stanzas in and out',
  args: [],
  returns: '{ state, registered, online, onlineUsers, uptimeSeconds, stanzasIn, stanzasOut, routed, bounced }',
  access: 'monitor',
  readOnly: true,
  aliases: [['stats']],
  async run(node) {
    if (!node.core) return notRunning();
    const s = await nodeStats(node);
    return { ok: true, data: s, lines: Object.entries(s).map(([k, v]) => `${k}\t${v}`) };
  },
});

export const logLevelGet = defineCommand({
  name: ['log', 'get-level'],
  group: 'logging',
  summary: 'the current log level',
  args: [],
  returns: '{ level }',
  access: 'monitor',
  readOnly: true,
  async run(node) {
    if (!node.core) return notRunning();
    return { ok: true, data: { level: node.logger.level }, lines: [node.logger.level] };
  },
});

export const logLevelSet = defineCommand({
  name: ['log', 'set-level'],
  group: 'logging',
  summary: 'change the log level until the next restart',
  args: [{ name: 'level', type: 'enum', values: LOG_LEVELS, description: 'the new level', example: 'debug' }],
  returns: '{ level, previous }',
  access: 'admin',
  async run(node, args) {
    if (!node.core) return notRunning();
    const previous = node.logger.level;
    node.logger.setLevel(args.level as LogLevel);
    node.logger.info('admin_log_level_changed', { previous, level: args.level });
    return { ok: true, message: `log level ${args.level} (was ${previous})`, data: { level: args.level, previous } };
  },
});

export const componentList = defineCommand({
  name: ['component', 'list'],
  group: 'components',
  summary: 'connected external components (XEP-0114)',
  args: [],
  returns: 'rows of { name, domains, hidden, transport, remoteAddress, listenerPort, connectedAt }',
  access: 'monitor',
  readOnly: true,
  async run(node) {
    if (!node.core) return notRunning();
    const rows = node.components().map((c) => ({ ...c, connectedAt: c.connectedAt.toISOString() }));
    return { ok: true, data: rows, lines: rows.map((c) => `${c.name}\t${c.domains.join(',')}\t${c.remoteAddress}`) };
  },
});

export const moduleList = defineCommand({
  name: ['module', 'list'],
  group: 'modules',
  summary: 'modules running on each host, and the ones this build knows',
  args: [{ name: 'host', type: 'host', description: 'one served host (all when left out)', example: 'localhost', optional: true }],
  returns: '{ running: { host: [module] }, available: [module] }',
  access: 'monitor',
  readOnly: true,
  async run(node, args) {
    const core = node.core;
    if (!core) return notRunning();
    const running: Record<string, string[]> = {};
    for (const host of args.host !== undefined ? [args.host as string] : core.hosts) running[host] = core.registry.running(host);
    const available = node.catalogue.modules.map((m) => m.name).sort();
    return { ok: true, data: { running, available }, lines: Object.entries(running).map(([h, mods]) => `${h}\t${mods.join(' ')}`) };
  },
});

export const serviceList = defineCommand({
  name: ['service', 'list'],
  group: 'modules',
  summary: 'services running on this node, and the ones this build knows',
  args: [],
  returns: '{ running: [service], available: [service] }',
  access: 'monitor',
  readOnly: true,
  async run(node) {
    if (!node.core) return notRunning();
    // Start-up fails unless every configured service starts, so configured = running.
    const running = Object.keys(node.config.services);
    const available = node.catalogue.services.map((s) => s.name).sort();
    return { ok: true, data: { running, available }, lines: running };
  },
});

export const configCheck = defineCommand({
  name: ['config', 'check'],
  group: 'config',
  summary: "check the node's configuration file as it is on disk now (before a restart)",
  args: [],
  returns: '{ ok, file, report | problems }',
  access: 'monitor',
  readOnly: true,
  async run(node) {
    const check = await checkConfigFile(node.config.file, node.catalogue);
    if (!check.ok) return fail('invalid', check.problems.join('\n'));
    return { ok: true, message: `configuration ${check.file ?? '(embedded defaults)'} is valid`, data: check };
  },
});

export const nodeStatus = defineCommand({
  name: ['node', 'status'],
  group: 'node',
  summary: "the node's state (starting, ready, draining), hosts and uptime",
  args: [],
  returns: '{ state, hosts, uptimeSeconds, pid }',
  access: 'monitor',
  readOnly: true,
  async run(node) {
    if (!node.core) return notRunning();
    const uptimeSeconds = node.metrics ? Math.round((Date.now() - node.metrics.startedAt) / 1000) : 0;
    const data = { state: node.state(), hosts: node.config.general.hosts, uptimeSeconds, pid: process.pid };
    return { ok: true, message: `${data.state}, up ${uptimeSeconds}s`, data };
  },
});

export const nodeStop = defineCommand({
  name: ['node', 'stop'],
  group: 'node',
  summary: 'stop the node gracefully (streams get system-shutdown)',
  args: [{ name: 'reason', type: 'string', description: 'logged as the reason', example: 'upgrade', optional: true }],
  returns: 'nothing; the node stops after answering',
  access: 'admin',
  async run(node, args) {
    if (!node.core) return notRunning();
    node.requestStop((args.reason as string | undefined) ?? 'admin request');
    return { ok: true, message: 'stopping' };
  },
});

export const SYSTEM_COMMANDS = [stats, logLevelGet, logLevelSet, componentList, moduleList, serviceList, configCheck, nodeStatus, nodeStop];
