// /metrics, /health and the local admin token on a really started node: counters move with
// real traffic (logins, auth failures by mechanism, stanzas, routing latency, storage latency).

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import { freePort } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';

let ts: TestServer;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  ts = await startTestServer({ toml: `[listen.admin]\nport = ${port}\n`, users: { 'alice@localhost': 'alice-pw' } });
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await ts.stop();
});

async function plain(user: string, password: string): Promise<{ client: RawClient; ok: boolean }> {
  const client = await RawClient.connect(ts.tlsPort, { tls: { ca: ts.ca } });
  client.send(STREAM_OPEN());
  await client.waitFor('</stream:features>');
  client.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
  const answer = await client.waitFor(/<success|<failure/);
  return { client, ok: answer.includes('<success') };
}

const metric = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
};

test('metrics follow real traffic, without credentials on loopback and without JIDs', async () => {
  const bad = await plain('alice', 'wrong');
  expect(bad.ok).toBe(false);
  bad.client.send('</stream:stream>');
  const good = await plain('alice', 'alice-pw');
  expect(good.ok).toBe(true);
  const c = good.client;
  c.send(STREAM_OPEN());
  await c.waitFor(/<bind[^>]*>.*<\/stream:features>/s);
  c.send("<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>m</resource></bind></iq>");
  await c.waitFor("id='b'");
  c.send("<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
  await c.waitFor("id='p'");

  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(metric(text, 'meerkat_auth_failures_by_mechanism_total{mechanism="PLAIN"}')).toBe(1);
  expect(metric(text, 'meerkat_sessions_by_transport{transport="tcp_tls"}')).toBe(1);
  expect(metric(text, 'meerkat_stanzas_in_total{kind="iq"}')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'meerkat_routing_latency_seconds_count')).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'meerkat_storage_latency_seconds_count{op="users_get"}')).toBeGreaterThanOrEqual(2);
  expect(metric(text, 'meerkat_parser_bytes_total')).toBeGreaterThan(0);
  expect(metric(text, 'meerkat_bosh_sessions')).toBe(0);
  expect(text).not.toContain('alice');
  c.send('</stream:stream>');
});

test('health needs no credentials; the admin API takes the local token file', async () => {
  expect((await fetch(`${base}/health/live`)).status).toBe(200);
  expect(await (await fetch(`${base}/health/ready`)).json()).toEqual({ status: 'ready' });
  expect((await fetch(`${base}/api/admin/node/stats`)).status).toBe(401);
  const token = (await readFile(join(ts.dataDir, 'admin-token'), 'utf8')).trim();
  const stats = await fetch(`${base}/api/admin/node/stats`, { headers: { Authorization: `Bearer ${token}` } });
  expect(stats.status).toBe(200);
  expect(((await stats.json()) as { data: { registered: number } }).data.registered).toBe(1);
});
