// The live dashboard in headless Chromium: the page loads from the admin listener (Basic
// credentials), shows the node ready and the sessions by transport, and its messages-per-second
// graph moves while test clients send messages. A screenshot is kept under .artifacts/.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import { freePort } from '../../helpers/ports.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';

const ARTIFACTS = join(import.meta.dir, '../../../.artifacts');
let ts: TestServer;
let adminPort: number;
let profile: string;
let browser: BrowserContext;

async function login(user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(ts.tlsPort, { tls: { ca: ts.ca } });
  c.send(STREAM_OPEN());
  await c.waitFor('</stream:features>');
  c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
  await c.waitFor('<success');
  c.send(STREAM_OPEN());
  await c.waitFor(/<bind[^>]*>.*<\/stream:features>/s);
  c.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>dash</resource></bind></iq>");
  await c.waitFor("id='bind'");
  return c;
}

beforeAll(async () => {
  adminPort = await freePort();
  ts = await startTestServer({
    toml: `
[listen.admin]
port = ${adminPort}
username = "admin"
password = "dashboard-pw"
local_token = false
`,
    users: { 'alice@localhost': 'alice-pw', 'bob@localhost': 'bob-pw' },
  });
  profile = mkdtempSync(join(tmpdir(), 'meerkat-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    httpCredentials: { username: 'admin', password: 'dashboard-pw' },
    viewport: { width: 1100, height: 700 },
  });
});

afterAll(async () => {
  await browser?.close();
  await ts?.stop();
  rmSync(profile, { recursive: true, force: true });
});

describe('dashboard', () => {
  test('loads, shows the node, and its graph moves when clients send messages', async () => {
    const alice = await login('alice', 'alice-pw');
    const bob = await login('bob', 'bob-pw');
    const page = await browser.newPage();
    try {
      const response = await page.goto(`http://127.0.0.1:${adminPort}/dashboard?interval=200`);
      expect(response?.status()).toBe(200);
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready');
      await page.waitForFunction(() => document.getElementById('sessions-total')?.textContent === '2');
      expect(await page.textContent('#sessions')).toContain('tcp_tls');

      const flat = await page.getAttribute('#line', 'points');
      // Messages from alice to bob while the page polls.
      for (let round = 0; round < 15; round++) {
        for (let i = 0; i < 20; i++) alice.send(`<message to='bob@localhost/dash' type='chat' id='m${round}-${i}'><body>hi ${i}</body></message>`);
        await Bun.sleep(50);
      }
      await bob.waitFor("id='m14-19'");
      await page.waitForFunction(() => Number(document.getElementById('messages-total')?.textContent) >= 300);
      // A sample with a non-zero rate has been drawn: some point sits above the baseline (y = 138).
      await page.waitForFunction(() => (document.getElementById('line')?.getAttribute('points') ?? '')
        .split(' ').some((p) => Number(p.split(',')[1]) < 130));
      const moved = await page.getAttribute('#line', 'points');
      expect(moved).not.toBe(flat);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    } finally {
      await page.close();
      alice.send('</stream:stream>');
      bob.send('</stream:stream>');
    }
  }, 30_000);

  test('without credentials the page is refused', async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/dashboard`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toStartWith('Basic');
  });
});
