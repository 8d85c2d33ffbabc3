// Keeps the load benchmark (bench/load/) from rotting: a tiny run of every scenario
// against a real Meerkat process (accounts registered in-band, PLAIN and SCRAM-SHA-1
// login storms, chat to bare JIDs, BOSH logins and chat) and of the chat scenario through
// the plain relay. Counts only — every login completes, sent = received; no speed.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchCertificate } from '../../../bench/route/certificate.ts';
import { freePorts } from '../../helpers/ports.ts';
import { runScenarios, type ScenarioOptions } from '../../../bench/load/scenarios.ts';
import { meerkat } from '../../../bench/load/servers/meerkat.ts';
import { relay } from '../../../bench/load/servers/relay.ts';
import type { StartOptions } from '../../../bench/load/servers/server.ts';

let dir = '';
let cert: StartOptions['cert'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meerkat-load-smoke-'));
  await chmod(dir, 0o755);
  cert = await writeBenchCertificate(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const OPTIONS: ScenarioOptions = {
  idleSessions: 8,
  chatUsers: [8, 4],
  rates: [40, 80],
  stepMs: 500,
  drainMs: 3000,
  // Generous: this checks counts, not speed, on a machine that may be busy.
  p99LimitMs: 60_000,
  scramLogins: 5,
  scramCache: true,
  loginConcurrency: 4,
  boshUsers: 4,
  boshRates: [20],
  settleMs: 100,
  parts: new Set(['logins', 'chat', 'bosh']),
  log: () => {},
};

async function startOptions(name: string): Promise<StartOptions> {
  const workDir = await mkdtemp(join(dir, `${name}-`));
  const [c2sPort, boshPort] = await freePorts(2);
  return { workDir, cert, c2sPort: c2sPort!, boshPort: boshPort!, cpus: undefined };
}

test('every scenario against Meerkat: logins complete and every message arrives', async () => {
  const log: string[] = [];
  const r = await runScenarios(meerkat, 'test', await startOptions('meerkat'), { ...OPTIONS, log: (line) => log.push(line) });
  expect(r.errors).toEqual([]);
  expect(r.registerMs).toBeDefined();
  expect(r.plain?.count).toBe(8);
  // The clients learn SaltedPassword in a first SCRAM storm, then log in again with it.
  expect(r.scramDeriving?.count).toBe(5);
  expect(r.scram?.count).toBe(5);
  expect(log.filter((l) => l.includes('SCRAM-SHA-1 storm')).map((l) => /client PBKDF2 runs (\d+)/.exec(l)?.[1])).toEqual(['5', '0']);
  expect(r.rssIdleBytes).toBeGreaterThan(0);
  for (const n of [8, 4]) {
    const chat = r.chat[n]!;
    expect(chat.problems).toEqual([]);
    expect(chat.steps.map((s) => s.why)).toEqual(['', '']);
    expect(chat.sent).toBeGreaterThan(0);
    expect(chat.received).toBe(chat.sent);
  }
  expect(r.bosh?.problems).toEqual([]);
  expect(r.bosh?.steps.map((s) => s.why)).toEqual(['']);
  expect(r.bosh?.sent).toBeGreaterThan(0);
  expect(r.bosh?.received).toBe(r.bosh?.sent);
}, 60_000);

test('--scram-no-cache: one SCRAM storm, every client derives SaltedPassword', async () => {
  const log: string[] = [];
  const r = await runScenarios(meerkat, 'test', await startOptions('meerkat-no-cache'), { ...OPTIONS, scramCache: false, parts: new Set(['logins']), log: (line) => log.push(line) });
  expect(r.errors).toEqual([]);
  expect(r.scramDeriving).toBeUndefined();
  expect(r.scram?.count).toBe(5);
  expect(log.filter((l) => l.includes('SCRAM-SHA-1 storm')).map((l) => /client PBKDF2 runs (\d+)/.exec(l)?.[1])).toEqual(['5']);
}, 60_000);

test('chat through the plain relay routes every message by its to', async () => {
  const r = await runScenarios(relay, 'test', await startOptions('relay'), { ...OPTIONS, chatUsers: [8] });
  expect(r.errors).toEqual([]);
  expect(r.plain?.count).toBe(8);
  expect(r.scram).toBeUndefined();
  expect(r.bosh).toBeUndefined();
  const chat = r.chat[8]!;
  expect(chat.problems).toEqual([]);
  expect(chat.received).toBe(chat.sent);
  expect(chat.sent).toBeGreaterThan(0);
}, 30_000);
