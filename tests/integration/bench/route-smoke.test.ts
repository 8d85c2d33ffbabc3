// Keeps the routing benchmark from rotting: its load client logs in a few pairs, floods
// for a second, and every message must arrive, in order, exactly once — through a real
// Meerkat and through the plain relay it is compared with. No speed is asserted.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { closeFleet, flood, loginFleet } from '../../../bench/route/load.ts';
import { PASSWORD, receiverName, senderName } from '../../../bench/route/protocol.ts';
import { writeBenchCertificate } from '../../../bench/route/certificate.ts';
import { relay } from '../../../bench/route/targets/relay.ts';

const PAIRS = 5;
const FLOOD = { durationMs: 1000, warmupMs: 0, window: 8, drainTimeoutMs: 5000 };

function users(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < PAIRS; i++) {
    out[`${senderName(i)}@localhost`] = PASSWORD;
    out[`${receiverName(i)}@localhost`] = PASSWORD;
  }
  return out;
}

describe('routing benchmark load client', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ users: users() });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('5 pairs flood Meerkat for a second: sent = received, in order, no errors', async () => {
    const fleet = await loginFleet({
      host: '127.0.0.1',
      port: server.tlsPort,
      tlsCa: server.ca,
      serverName: 'localhost',
      domain: 'localhost',
      password: PASSWORD,
      pairs: PAIRS,
      loginConcurrency: 4,
      timeoutMs: 10_000,
    });
    try {
      const result = await flood(fleet, FLOOD);
      expect(result.problems).toEqual([]);
      expect(result.sent).toBeGreaterThan(0);
      expect(result.received).toBe(result.sent);
      expect(result.latency.samples).toBeGreaterThan(0);
    } finally {
      await closeFleet(fleet);
    }
  }, 20_000);

  test('the same client through the plain relay: sent = received', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meerkat-relay-smoke-'));
    const cert = await writeBenchCertificate(dir);
    const running = await relay.start({ pairs: PAIRS, transport: 'tls', workDir: dir, cert });
    try {
      const fleet = await loginFleet({
        host: '127.0.0.1',
        port: running.port,
        tlsCa: cert.ca,
        serverName: 'localhost',
        domain: running.domain,
        password: running.password,
        pairs: PAIRS,
        loginConcurrency: 4,
        timeoutMs: 10_000,
      });
      const result = await flood(fleet, FLOOD);
      await closeFleet(fleet);
      expect(result.problems).toEqual([]);
      expect(result.sent).toBeGreaterThan(0);
      expect(result.received).toBe(result.sent);
    } finally {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
