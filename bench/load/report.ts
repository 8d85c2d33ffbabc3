// The load benchmark's table: one row per figure, one column per server, and Meerkat's
// ratio to ejabberd and Prosody (× > 1 is better for Meerkat in every row: memory rows
// are inverted so that a smaller footprint gives a larger ratio).

import type { ChatResult } from './chat.ts';
import type { ServerResult, StormFigures } from './scenarios.ts';

export interface ReportContext {
  idleSessions: number;
  chatUsers: number[];
  loginConcurrency: number;
  scramCache: boolean;
  boshUsers: number;
  p99LimitMs: number;
  stepMs: number;
  pinned: boolean;
  machine: string;
  date: string;
}

type Cell = number | undefined;
interface Row {
  label: string;
  values: Cell[];
  format: (v: number) => string;
  /** True when smaller is better (the ratio is inverted). */
  lowerIsBetter?: boolean;
  /** Text cells instead of numbers (no ratio). */
  text?: string[];
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const ms = (v: number): string => v.toFixed(1);
const kib = (v: number): string => (v / 1024).toFixed(1);

function atRate(chat: ChatResult | undefined, rate: number | undefined): ChatResult['steps'][number] | undefined {
  if (chat === undefined || rate === undefined) return undefined;
  return [...chat.steps].reverse().find((s) => s.offered === rate);
}

/** The last step, when it failed: rate, reason, and the server's CPU use and CPU wait. */
function brokeAt(chat: ChatResult | undefined): string {
  const last = chat?.steps.at(-1);
  if (last === undefined) return '–';
  if (last.ok) return `held the top rate (${last.offered.toLocaleString('en-US')}/s)`;
  const pct = (v: number | undefined): string => (v === undefined ? '?' : `${Math.round(v * 100)}%`);
  return `${last.offered.toLocaleString('en-US')}/s: ${last.why} (server CPU ${pct(last.serverCpu)}, server waited for CPU ${pct(last.serverWaited)}, generator ${pct(last.generatorWaited)})`;
}

export function formatReport(results: ServerResult[], c: ReportContext): string {
  const names = results.map((r) => r.server);
  const ej = results.find((r) => r.server === 'ejabberd');
  const rows: Row[] = [];
  const perServer = (label: string, format: (v: number) => string, pick: (r: ServerResult) => Cell, lowerIsBetter = false): void => {
    rows.push({ label, values: results.map(pick), format, lowerIsBetter });
  };
  perServer(`PLAIN login storm, logins/s (${c.idleSessions.toLocaleString('en-US')} sessions, ${c.loginConcurrency} at once)`, int, (r) => r.plain?.perSec);
  perServer('PLAIN login storm: server CPU ms per login', (v) => v.toFixed(2), (r) => (r.plain ? (r.plain.serverCpu / r.plain.perSec) * 1000 : undefined), true);
  const cpuPerLogin = (f: StormFigures | undefined): Cell => (f ? (f.serverCpu / f.perSec) * 1000 : undefined);
  if (results.some((r) => r.scramDeriving !== undefined)) {
    perServer('SCRAM-SHA-1 login storm, clients derive SaltedPassword (PBKDF2 per login), logins/s', int, (r) => r.scramDeriving?.perSec);
    perServer('SCRAM-SHA-1 login storm, clients derive: server CPU ms per login', (v) => v.toFixed(2), (r) => cpuPerLogin(r.scramDeriving), true);
  }
  const kept = c.scramCache ? ', clients keep SaltedPassword' : ', PBKDF2 per login';
  perServer(`SCRAM-SHA-1 login storm, logins/s (4096 iterations${kept})`, int, (r) => r.scram?.perSec);
  perServer('SCRAM-SHA-1 login storm: server CPU ms per login', (v) => v.toFixed(2), (r) => cpuPerLogin(r.scram), true);
  if (results.some((r) => r.scram?.load !== undefined)) {
    const pct = (v: number): string => `${Math.round(v * 100)}%`;
    rows.push({
      label: 'SCRAM-SHA-1 login storm: server CPU (waited for CPU), generator CPU (waited)',
      values: [],
      format: String,
      text: results.map((r) => {
        const f = r.scram;
        return f?.load === undefined ? '–' : `${pct(f.serverCpu)} (${pct(f.load.serverWaited)}), ${pct(f.load.generatorCpu)} (${pct(f.load.generatorWaited)})`;
      }),
    });
  }
  perServer(`RSS per idle session, KiB (${c.idleSessions.toLocaleString('en-US')} sessions)`, kib, (r) => (r.rssIdleBytes !== undefined && r.rssBeforeBytes !== undefined ? (r.rssIdleBytes - r.rssBeforeBytes) / r.idleSessions : undefined), true);
  perServer('RSS before logins, MiB', (v) => (v / 2 ** 20).toFixed(1), (r) => r.rssBeforeBytes, true);
  // Parts a run left out (--parts) get no rows.
  for (const n of [...c.chatUsers].sort((a, b) => a - b)) {
    if (results.every((r) => r.chat[n] === undefined)) continue;
    const label = `chat, ${n.toLocaleString('en-US')} online users`;
    perServer(`${label}: sustained msgs/s`, int, (r) => r.chat[n]?.sustained);
    perServer(`${label}: p50 ms at sustained rate`, ms, (r) => r.chat[n]?.best?.latency.p50, true);
    perServer(`${label}: p99 ms at sustained rate`, ms, (r) => r.chat[n]?.best?.latency.p99, true);
    const ejRate = ej?.chat[n]?.best?.offered;
    if (ejRate !== undefined) perServer(`${label}: p99 ms at ejabberd's sustained rate (${ejRate.toLocaleString('en-US')}/s offered)`, ms, (r) => atRate(r.chat[n], ejRate)?.latency.p99, true);
    rows.push({ label: `${label}: what broke it`, values: [], format: String, text: results.map((r) => brokeAt(r.chat[n])) });
    perServer(`${label}: server µs CPU per message at sustained rate`, ms, (r) => {
      const b = r.chat[n]?.best;
      return b?.serverCpu !== undefined && b.deliveredPerSec > 0 ? (b.serverCpu / b.deliveredPerSec) * 1e6 : undefined;
    }, true);
  }
  if (results.some((r) => r.bosh !== undefined)) {
    perServer(`BOSH chat (${c.boshUsers} users, SCRAM-SHA-1 logins): sustained msgs/s`, int, (r) => r.bosh?.sustained);
    perServer('BOSH chat: p99 ms at sustained rate', ms, (r) => r.bosh?.best?.latency.p99, true);
    rows.push({ label: 'BOSH chat: what broke it', values: [], format: String, text: results.map((r) => brokeAt(r.bosh)) });
  }
  if (results.some((r) => r.errors.length > 0 || Object.keys(r.chat).length > 0 || r.bosh !== undefined)) rows.push({
    label: 'sent = received (all chat steps)',
    values: [],
    format: String,
    text: results.map((r) => {
      const all = [...Object.values(r.chat), ...(r.bosh ? [r.bosh] : [])];
      if (r.errors.length > 0) return `error: ${r.errors[0]!.slice(0, 80)}`;
      if (all.length === 0) return '–';
      const ok = all.every((x) => x.sent === x.received && x.problems.length === 0);
      const sent = all.reduce((n, x) => n + x.sent, 0);
      const received = all.reduce((n, x) => n + x.received, 0);
      return ok ? `yes (${sent.toLocaleString('en-US')})` : `NO (${sent}/${received})`;
    }),
  });

  const mi = names.indexOf('meerkat');
  const peers = ['ejabberd', 'prosody'].filter((p) => names.includes(p));
  const header = `| scenario | ${names.join(' | ')} |${peers.map((p) => ` meerkat ÷ ${p} |`).join('')}`;
  const rule = `|---|${names.map(() => '---:|').join('')}${peers.map(() => '---:|').join('')}`;
  const lines = rows.map((row) => {
    if (row.text) return `| ${row.label} | ${row.text.join(' | ')} |${peers.map(() => ' |').join('')}`;
    const cells = row.values.map((v) => (v === undefined || !Number.isFinite(v) ? '–' : row.format(v)));
    const ratios = peers.map((p) => {
      const m = mi >= 0 ? row.values[mi] : undefined;
      const o = row.values[names.indexOf(p)];
      if (m === undefined || o === undefined || !Number.isFinite(m) || !Number.isFinite(o) || m === 0 || o === 0) return '–';
      return `${(row.lowerIsBetter ? o / m : m / o).toFixed(2)}×`;
    });
    return `| ${row.label} | ${cells.join(' | ')} |${ratios.map((r) => ` ${r} |`).join('')}`;
  });
  const versions = results.map((r) => `${r.server} ${r.version}`).join('; ');
  return [
    `Load benchmark, ${c.date}, ${c.machine}; ${c.pinned ? 'server pinned to CPU 0, generator to CPU 1' : 'unpinned (server and generator share both CPUs)'}.`,
    `Versions: ${versions}. Chat steps ${c.stepMs / 1000} s each; a step breaks at p99 > ${c.p99LimitMs} ms or a message missing after the drain. Ratios: > 1× is better for Meerkat (memory and latency rows inverted).`,
    '',
    header,
    rule,
    ...lines,
  ].join('\n');
}
