// Strophe.js in a real browser (Debian's Chromium, driven by playwright-core) against a
// really started Meerkat: two users log in over BOSH, then over WebSocket, from a page on
// another origin (CORS, allowed by the listener's origin lists) and from a page whose own
// server proxies the XMPP endpoints (same-origin). Each pair fetches its roster, subscribes
// to the other's presence, exchanges messages, pings the server and logs out, and the
// server ends the session: its terminate is seen by the page (BOSH), its <close/> by the
// proxy (WebSocket; Strophe drops the socket without waiting for it). A page on an origin
// the listener does not list is refused. On failure each page's screenshot is saved under
// .artifacts/browser/.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startHttpTestServer, type HttpTestServer } from '../../fixtures/http/http-test-server.ts';
import { startPageServer, type PageServer } from '../../fixtures/http/page-server.ts';
import { freePorts } from '../../helpers/ports.ts';

const ARTIFACTS = join(import.meta.dir, '..', '..', '..', '.artifacts', 'browser');
const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 10_000;

/** window.client in tests/fixtures/http/browser/client.js */
interface PageClient {
  state: { statuses: string[]; stanzas: string[]; raw: string[] };
  find(spec: StanzaSpec): number;
  connect(service: string, jid: string, password: string): Promise<string>;
  roster(): Promise<string[]>;
  presence(to?: string, type?: string): void;
  message(to: string, body: string): void;
  ping(to: string): Promise<{ type: string; from: string | null }>;
  disconnect(): Promise<void>;
}
interface StanzaSpec {
  name?: string;
  from?: string;
  type?: string | null;
  body?: string;
}
declare const client: PageClient;

let ts: HttpTestServer;
/** Serves the page only; its origin is listed in cors_origins and the WebSocket origins. */
let listedPages: PageServer;
/** Serves the page and proxies BOSH and WebSocket to Meerkat; its origin is not listed. */
let proxyPages: PageServer;
let browser: BrowserContext;
let profileDir: string;

beforeAll(async () => {
  const [listedPort, proxyPort] = await freePorts(2);
  ts = await startHttpTestServer({
    origins: [`http://127.0.0.1:${listedPort}`],
    // Held requests come back within 5 s, so a logout never waits long for a free request.
    boshToml: 'max_wait = "5s"',
  });
  listedPages = await startPageServer(listedPort!);
  proxyPages = await startPageServer(proxyPort!, ts.httpBase);
  profileDir = await mkdtemp(join(tmpdir(), 'meerkat-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, { executablePath: '/usr/bin/chromium', headless: true, args: BROWSER_ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([listedPages?.stop(), proxyPages?.stop()]);
  await ts?.stop();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

interface User {
  name: string;
  page: Page;
  bare: string;
  full: string;
}

async function openPage(origin: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${origin}/`);
  return page;
}

const isCloseFrame = (f: string): boolean => /^<close [^>]*xmlns=['"]urn:ietf:params:xml:ns:xmpp-framing['"]/.test(f);

async function login(page: Page, service: string, bare: string, password: string): Promise<string> {
  return page.evaluate(([s, j, p]) => client.connect(s!, j!, p!), [service, bare, password]);
}

async function waitForStanza(user: User, spec: StanzaSpec): Promise<void> {
  await user.page.waitForFunction((s) => client.find(s) >= 0, spec, { timeout: WAIT_MS });
}

/** Runs `body` with the pages; on failure saves a screenshot of each under .artifacts/browser/. */
async function withScreenshots(name: string, pages: Map<string, Page>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    await mkdir(ARTIFACTS, { recursive: true });
    for (const [role, page] of pages) {
      await page.screenshot({ path: join(ARTIFACTS, `${name}-${role}.png`), fullPage: true }).catch(() => {});
    }
    throw err;
  } finally {
    for (const page of pages.values()) await page.close().catch(() => {});
  }
}

/** The whole conversation between two fresh users on one transport, from pages on `origin`. */
async function conversation(name: string, origin: string, service: string, transport: 'bosh' | 'websocket', serverFrames?: (u: User) => readonly string[]): Promise<void> {
  const pages = new Map<string, Page>();
  await withScreenshots(name, pages, async () => {
    const users: User[] = [];
    for (const role of ['alice', 'bob']) {
      const bare = `${role}-${name}@localhost`;
      await ts.addUser(bare, `${role}-password`);
      const page = await openPage(origin);
      pages.set(role, page);
      const full = await login(page, service, bare, `${role}-password`);
      expect(full.startsWith(`${bare}/`)).toBe(true);
      users.push({ name: role, page, bare, full });
    }
    const [alice, bob] = users as [User, User];

    // Log-in as clients do it: fetch the roster (empty for new accounts), then become available.
    for (const u of users) {
      expect(await u.page.evaluate(() => client.roster())).toEqual([]);
      await u.page.evaluate(() => client.presence());
    }

    // Mutual presence subscription (RFC 6121 §3): after each approval the subscriber
    // receives the contact's available presence from its bound resource.
    for (const [from, to] of [[alice, bob], [bob, alice]] as const) {
      await from.page.evaluate((jid) => client.presence(jid, 'subscribe'), to.bare);
      await waitForStanza(to, { name: 'presence', from: from.bare, type: 'subscribe' });
      await to.page.evaluate((jid) => client.presence(jid, 'subscribed'), from.bare);
      await waitForStanza(from, { name: 'presence', from: to.full, type: null });
    }
    expect(await alice.page.evaluate(() => client.roster())).toEqual([`${bob.bare}:both`]);

    // Messages both ways, to the full JID.
    await alice.page.evaluate(([to, body]) => client.message(to!, body!), [bob.full, `hello bob, from ${name}`]);
    await waitForStanza(bob, { name: 'message', from: alice.full, type: 'chat', body: `hello bob, from ${name}` });
    await bob.page.evaluate(([to, body]) => client.message(to!, body!), [alice.full, `hello alice, from ${name}`]);
    await waitForStanza(alice, { name: 'message', from: bob.full, type: 'chat', body: `hello alice, from ${name}` });

    // XEP-0199: the server answers a ping with a result.
    for (const u of users) expect(await u.page.evaluate(() => client.ping('localhost'))).toEqual({ type: 'result', from: 'localhost' });

    // Logging out: alice's contact sees her go, and the server ends her session itself.
    await alice.page.evaluate(() => client.disconnect());
    await waitForStanza(bob, { name: 'presence', from: alice.full, type: 'unavailable' });
    await bob.page.evaluate(() => client.disconnect());
    for (const u of users) {
      if (transport === 'bosh') {
        const raw = await u.page.evaluate(() => client.state.raw);
        expect(raw.some((b) => /^<body [^>]*type=['"]terminate['"]/.test(b))).toBe(true);
      } else if (serverFrames !== undefined) {
        // Strophe drops its socket right after its own <close/>, so the browser rarely sees
        // ours; a proxy in between does.
        const frames = serverFrames(u);
        for (let i = 0; i < 100 && !frames.some(isCloseFrame); i++) await Bun.sleep(20);
        expect(isCloseFrame(frames.at(-1) ?? '')).toBe(true);
      }
      expect(await u.page.evaluate(() => client.state.statuses)).toContain('DISCONNECTED');
    }
    for (let i = 0; i < 100 && ts.server.core.sessions.size > 0; i++) await Bun.sleep(20);
    expect(ts.server.core.sessions.size).toBe(0);
  });
}

describe('page on another origin (CORS)', () => {
  test('BOSH', async () => {
    await conversation('cors-bosh', listedPages.origin, `${ts.httpBase}/http-bind`, 'bosh');
    expect(ts.server.listeners.some((l) => l.kind === 'http')).toBe(true);
  }, 30_000);

  test('WebSocket', async () => {
    await conversation('cors-ws', listedPages.origin, `${ts.httpBase.replace('http:', 'ws:')}/ws-xmpp`, 'websocket');
  }, 30_000);
});

describe('same-origin page behind a reverse proxy', () => {
  test('BOSH', async () => {
    const before = proxyPages.proxiedBosh;
    await conversation('proxied-bosh', proxyPages.origin, '/http-bind', 'bosh');
    expect(proxyPages.proxiedBosh).toBeGreaterThan(before);
  }, 30_000);

  test('WebSocket', async () => {
    const before = proxyPages.proxiedWebSockets;
    // What Meerkat sent is read at the proxy: the browser may have stopped listening.
    const framesOf = (u: User): readonly string[] => proxyPages.webSocketFrames[before + (u.name === 'alice' ? 0 : 1)] ?? [];
    await conversation('proxied-ws', proxyPages.origin, `${proxyPages.origin.replace('http:', 'ws:')}/ws-xmpp`, 'websocket', framesOf);
    expect(proxyPages.proxiedWebSockets).toBe(before + 2);
  }, 30_000);
});

describe('page on an origin the listener does not list', () => {
  test('BOSH is refused: the preflight fails and no session is created', async () => {
    const pages = new Map<string, Page>();
    await withScreenshots('refused-bosh', pages, async () => {
      const page = await openPage(proxyPages.origin);
      pages.set('mallory', page);
      const failed = page.waitForEvent('requestfailed', { predicate: (r) => r.url().endsWith('/http-bind'), timeout: WAIT_MS });
      // Strophe retries failed BOSH requests with a back-off; the first failure is enough.
      page.evaluate((s) => client.connect(s, 'mallory@localhost', 'mallory-password').catch(() => {}), `${ts.httpBase}/http-bind`).catch(() => {});
      expect((await failed).failure()?.errorText).toBe('net::ERR_FAILED');
      expect(ts.server.listeners.length).toBeGreaterThan(0);
      expect(ts.server.core.sessions.size).toBe(0);
    });
  }, 30_000);

  test('WebSocket is refused: the handshake fails and Strophe reports CONNFAIL', async () => {
    const pages = new Map<string, Page>();
    await withScreenshots('refused-ws', pages, async () => {
      const page = await openPage(proxyPages.origin);
      pages.set('mallory', page);
      const service = `${ts.httpBase.replace('http:', 'ws:')}/ws-xmpp`;
      const outcome = await page.evaluate((s) => client.connect(s, 'mallory@localhost', 'mallory-password').then(() => 'connected', (e: Error) => e.message), service);
      expect(outcome).toContain('CONNFAIL');
      expect(ts.server.core.sessions.size).toBe(0);
    });
  }, 30_000);
});
