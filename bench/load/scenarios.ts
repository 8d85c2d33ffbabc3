// Everything the load benchmark does against one server, in order: register the accounts,
// PLAIN login storm up to the idle-session count (memory per idle session), chat steps at
// each online-user count (largest first, then sessions are closed down to the next), a
// SCRAM-SHA-1 login storm on fresh connections, then BOSH logins and BOSH chat steps.
//
// SCRAM: by default the clients keep SaltedPassword between logins (RFC 5802 §5.1), as real
// clients do, so the measured storm costs the generator a few HMACs per login instead of a
// PBKDF2 and the server's own cost sets the rate. The clients learn it in a first SCRAM
// storm over the same accounts, where every login still derives it; that storm is reported
// too (the figure earlier runs measured). `scramCache: false`: one storm, PBKDF2 per login.

import { XmppClient, type LoginOptions } from '../route/client.ts';
import { PASSWORD } from '../route/protocol.ts';
import { SaltedPasswordCache } from '../route/scram.ts';
import { BoshConnection } from './bosh-connection.ts';
import { chatSteps, selfRunDelayMs, type ChatResult } from './chat.ts';
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
  /** SCRAM clients keep SaltedPassword between logins (false: PBKDF2 at every login). */
  scramCache: boolean;
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
  /** Who else had the CPUs meanwhile (SCRAM storms): shows whether the server or the generator was the bound. */
  load?: LoadShares;
}

/** Shares of the storm's wall time. */
export interface LoadShares {
  /** The server's threads runnable but waiting for a CPU. */
  serverWaited: number;
  /** CPU this generator process used. */
  generatorCpu: number;
  generatorWaited: number;
}

export interface ServerResult {
  server: string;
  version: string;
  registerMs: number | undefined;
  plain: StormFigures | undefined;
  scram: StormFigures | undefined;
  /** The first SCRAM storm, where every client derived SaltedPassword (only with scramCache). */
  scramDeriving: StormFigures | undefined;
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
    server: server.name, version, registerMs: undefined, plain: undefined, scram: undefined, scramDeriving: undefined, rssBeforeBytes: undefined, rssIdleBytes: undefined,
    idleSessions: o.idleSessions, chat: {}, bosh: undefined, boshLoginPerSec: undefined, errors: [],
  };
  const running = await server.start(start);
  const pid = running.pid;
  const scramCache = o.scramCache ? new SaltedPasswordCache() : undefined;
  const login: LoginOptions = { host: '127.0.0.1', port: start.c2sPort, tlsCa: start.cert.ca, serverName: DOMAIN, domain: DOMAIN, password: PASSWORD, timeoutMs: 60_000, scramCache };
  const names = (n: number, prefix = 'u'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const cpuShare = async <T>(fn: () => Promise<T>): Promise<{ value: T; cpu: number; ms: number; load: LoadShares }> => {
    const c0 = treeCpuMs(pid);
    const w0 = treeRunDelayMs(pid);
    const g0 = process.cpuUsage();
    const gw0 = selfRunDelayMs();
    const t0 = performance.now();
    const value = await fn();
    const ms = performance.now() - t0;
    const g = process.cpuUsage(g0);
    const load: LoadShares = {
      serverWaited: (treeRunDelayMs(pid) - w0) / ms,
      generatorCpu: (g.user + g.system) / 1000 / ms,
      generatorWaited: (selfRunDelayMs() - gw0) / ms,
    };
    return { value, cpu: (treeCpuMs(pid) - c0) / ms, ms, load };
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
      const scramStorm = async (what: string): Promise<StormFigures> => {
        await sleep(o.settleMs / 3);
        const derived = scramCache?.derivations ?? 0;
        const storm = await cpuShare(() => loginStorm(names(o.scramLogins), { ...login, mechanism: 'SCRAM-SHA-1' }, o.loginConcurrency));
        const pbkdf2 = scramCache === undefined ? storm.value.count : scramCache.derivations - derived;
        const pct = (v: number): string => `${(v * 100).toFixed(0)}%`;
        o.log(`  SCRAM-SHA-1 storm${what}: ${storm.value.count} sessions, ${Math.round(storm.value.perSec)}/s, server CPU ${pct(storm.cpu)} (waited ${pct(storm.load.serverWaited)}), generator CPU ${pct(storm.load.generatorCpu)} (waited ${pct(storm.load.generatorWaited)}), client PBKDF2 runs ${pbkdf2}`);
        await closeAll(storm.value.clients);
        return { count: storm.value.count, perSec: storm.value.perSec, serverCpu: storm.cpu, load: storm.load };
      };
      if (scramCache !== undefined) result.scramDeriving = await scramStorm(' (clients derive SaltedPassword)');
      result.scram = await scramStorm(scramCache === undefined ? '' : ' (clients keep SaltedPassword)');
    }

    if (o.parts.has('bosh') && server.capabilities.bosh) {
      await sleep(o.settleMs / 3);
      const t0 = performance.now();
      const clients = await inParallel(names(o.boshUsers), Math.min(o.loginConcurrency, 32), async (u) => {
        const conn = await BoshConnection.open({ host: '127.0.0.1', port: start.boshPort, path: running.boshPath, domain: DOMAIN });
        return XmppClient.loginOver(conn, u, { domain: DOMAIN, password: PASSWORD, timeoutMs: 60_000, mechanism: 'SCRAM-SHA-1', scramCache });
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
