// Everything the load benchmark does against one server, in order: register the accounts,
// PLAIN login storm up to the idle-session count (memory per idle session), chat steps at
// each online-user count (largest first, then sessions are closed down to the next), a
// SCRAM-SHA-1 login storm on fresh connections, then BOSH logins and BOSH chat steps.

import { XmppClient, type LoginOptions } from '../route/client.ts';
import { PASSWORD } from '../route/protocol.ts';
import { BoshConnection } from './bosh-connection.ts';
import { chatSteps, type ChatResult } from './chat.ts';
import { closeAll, inParallel, loginStorm, registerAll } from './logins.ts';
import { DOMAIN, treeCpuMs, treeRss, treeRunDelayMs, type LoadServer, type StartOptions } from './servers/server.ts';

export interface ScenarioOptions {
  /** Sessions opened by the PLAIN storm and held idle for the memory reading. */
  idleSessions: number;
  /** Online-user counts for chat (each ≤ idleSessions). */
  chatUsers: number[];
  rates: number[];
  stepMs: number;
  drainMs: number;
  p99LimitMs: number;
  scramLogins: number;
  loginConcurrency: number;
  boshUsers: number;
  boshRates: number[];
  /** Quiet time before memory readings and between parts (3000 in the benchmark). */
  settleMs: number;
  /** Which parts to run. */
  parts: Set<'logins' | 'chat' | 'bosh'>;
  log: (line: string) => void;
}

export interface StormFigures {
  count: number;
  perSec: number;
  serverCpu: number;
}

export interface ServerResult {
  server: string;
  version: string;
  registerMs: number | undefined;
  plain: StormFigures | undefined;
  scram: StormFigures | undefined;
  rssBeforeBytes: number | undefined;
  rssIdleBytes: number | undefined;
  idleSessions: number;
  chat: Record<number, ChatResult>;
  bosh: ChatResult | undefined;
  boshLoginPerSec: number | undefined;
  errors: string[];
}

export async function runScenarios(server: LoadServer, version: string, start: StartOptions, o: ScenarioOptions): Promise<ServerResult> {
  const result: ServerResult = {
    server: server.name, version, registerMs: undefined, plain: undefined, scram: undefined, rssBeforeBytes: undefined, rssIdleBytes: undefined,
    idleSessions: o.idleSessions, chat: {}, bosh: undefined, boshLoginPerSec: undefined, errors: [],
  };
  const running = await server.start(start);
  const pid = running.pid;
  const login: LoginOptions = { host: '127.0.0.1', port: start.c2sPort, tlsCa: start.cert.ca, serverName: DOMAIN, domain: DOMAIN, password: PASSWORD, timeoutMs: 60_000 };
  const names = (n: number, prefix = 'u'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const cpuShare = async <T>(fn: () => Promise<T>): Promise<{ value: T; cpu: number; ms: number }> => {
    const c0 = treeCpuMs(pid);
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    return { value, cpu: (treeCpuMs(pid) - c0) / ms, ms };
  };
  const stepCpu = (): { onStepStart: () => void; onStepEnd: () => { cpu: number; waited: number } } => {
    let c0 = 0;
    let w0 = 0;
    let t0 = 0;
    return {
      onStepStart: () => { c0 = treeCpuMs(pid); w0 = treeRunDelayMs(pid); t0 = performance.now(); },
      onStepEnd: () => {
        const ms = performance.now() - t0;
        return { cpu: (treeCpuMs(pid) - c0) / ms, waited: (treeRunDelayMs(pid) - w0) / ms };
      },
    };
  };
  try {
    const accounts = Math.max(o.idleSessions, o.scramLogins, o.parts.has('bosh') ? o.boshUsers : 0);
    if (server.capabilities.register) {
      const t0 = performance.now();
      await registerAll(names(accounts), login, 32);
      result.registerMs = performance.now() - t0;
      o.log(`  registered ${accounts} accounts in ${(result.registerMs / 1000).toFixed(1)} s`);
    }
    await sleep(o.settleMs);
    result.rssBeforeBytes = treeRss(pid);

    if (o.parts.has('logins') || o.parts.has('chat')) {
      const storm = await cpuShare(() => loginStorm(names(o.idleSessions), { ...login, mechanism: 'PLAIN' }, o.loginConcurrency));
      let clients: XmppClient[] = storm.value.clients;
      result.plain = { count: storm.value.count, perSec: storm.value.perSec, serverCpu: storm.cpu };
      o.log(`  PLAIN storm: ${storm.value.count} sessions, ${Math.round(storm.value.perSec)}/s, server CPU ${(storm.cpu * 100).toFixed(0)}%`);
      await sleep(o.settleMs);
      result.rssIdleBytes = treeRss(pid);
      o.log(`  RSS ${(result.rssBeforeBytes / 2 ** 20).toFixed(1)} → ${(result.rssIdleBytes / 2 ** 20).toFixed(1)} MiB`);
      if (o.parts.has('chat')) {
        for (const n of [...o.chatUsers].sort((a, b) => b - a)) {
          if (n < clients.length) {
            const extra = clients.slice(n);
            clients = clients.slice(0, n);
            await closeAll(extra);
            await sleep(o.settleMs / 3);
          }
          o.log(`  chat, ${clients.length} online users ...`);
          const r = await chatSteps(clients.map((c) => ({ user: c.user, conn: c.conn })), {
            domain: DOMAIN, rates: o.rates, stepMs: o.stepMs, drainMs: o.drainMs, p99LimitMs: o.p99LimitMs, ...stepCpu(),
          });
          result.chat[clients.length] = r;
          logChat(o.log, r);
        }
      }
      await closeAll(clients);
    }

    if (o.parts.has('logins') && server.capabilities.scram) {
      await sleep(o.settleMs / 3);
      const storm = await cpuShare(() => loginStorm(names(o.scramLogins), { ...login, mechanism: 'SCRAM-SHA-1' }, o.loginConcurrency));
      result.scram = { count: storm.value.count, perSec: storm.value.perSec, serverCpu: storm.cpu };
      o.log(`  SCRAM-SHA-1 storm: ${storm.value.count} sessions, ${Math.round(storm.value.perSec)}/s, server CPU ${(storm.cpu * 100).toFixed(0)}%`);
      await closeAll(storm.value.clients);
    }

    if (o.parts.has('bosh') && server.capabilities.bosh) {
      await sleep(o.settleMs / 3);
      const t0 = performance.now();
      const clients = await inParallel(names(o.boshUsers), Math.min(o.loginConcurrency, 32), async (u) => {
        const conn = await BoshConnection.open({ host: '127.0.0.1', port: start.boshPort, path: running.boshPath, domain: DOMAIN });
        return XmppClient.loginOver(conn, u, { domain: DOMAIN, password: PASSWORD, timeoutMs: 60_000, mechanism: 'SCRAM-SHA-1' });
      });
      result.boshLoginPerSec = (clients.length / (performance.now() - t0)) * 1000;
      o.log(`  BOSH: ${clients.length} sessions (SCRAM-SHA-1), ${Math.round(result.boshLoginPerSec)}/s; chat ...`);
      const r = await chatSteps(clients.map((c) => ({ user: c.user, conn: c.conn })), {
        domain: DOMAIN, rates: o.boshRates, stepMs: o.stepMs, drainMs: o.drainMs, p99LimitMs: o.p99LimitMs, ...stepCpu(),
      });
      result.bosh = r;
      logChat(o.log, r);
      await closeAll(clients);
    }
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message.slice(0, 1000) : String(err));
    o.log(`  FAILED: ${result.errors.at(-1)}`);
  } finally {
    await running.stop();
  }
  return result;
}

function logChat(log: (line: string) => void, r: ChatResult): void {
  for (const s of r.steps) {
    log(`    ${s.retry ? 'again, ' : ''}offered ${s.offered}/s: sent ${Math.round(s.sentPerSec)}/s, delivered ${Math.round(s.deliveredPerSec)}/s, p50 ${s.latency.p50.toFixed(1)} ms, p99 ${s.latency.p99.toFixed(1)} ms, server CPU ${s.serverCpu === undefined ? '?' : (s.serverCpu * 100).toFixed(0) + '%'}, waited for CPU ${s.serverWaited === undefined ? '?' : (s.serverWaited * 100).toFixed(0) + '%'} (generator ${(s.generatorWaited * 100).toFixed(0)}%)${s.ok ? '' : ` — BROKE: ${s.why}`}`);
  }
  log(`    sustained ${Math.round(r.sustained)} msgs/s; sent ${r.sent}, received ${r.received}${r.problems.length ? `; problems: ${r.problems.slice(0, 3).join('; ')}` : ''}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
