// docs/global-distribution.md stays true: its openssl steps make certificates for eu-1 and
// us-1 that the module loads, and a link between them works in both roles. The same
// certificates refuse a link whose names do not match: us-1 dialling "ap-1" reaches eu-1
// and refuses it (its stanza comes back as undeliverable), and us-1 claiming to be "ap-1"
// in its HELLO is cut off by eu-1 before its stanza is routed.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../helpers/ports.ts';
import { waitUntil } from './harness.ts';
import { Logger } from '../../../server/log.ts';
import { schema } from '../../../modules/mod_global_distrib/options.ts';
import { loadLinkTls, type LinkTls } from '../../../modules/mod_global_distrib/link-tls.ts';
import { InboundLinks } from '../../../modules/mod_global_distrib/inbound.ts';
import { PeerLink, type PendingFrame } from '../../../modules/mod_global_distrib/outbound.ts';

const doc = readFileSync(join(import.meta.dir, '../../../docs/global-distribution.md'), 'utf8');
const blocks = (lang: string) => [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
const home = mkdtempSync(join(tmpdir(), 'meerkat-gd-docs-'));
const dir = join(home, 'meerkat-gd-ca');

const lines: Record<string, unknown>[] = [];
const log = new Logger('debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
const events = (what: string) => lines.filter((l) => l.what === what);

interface Received { origin: string; to: string }
const received: Received[] = [];
let euMismatches = 0;
let inbound: InboundLinks;
let endpoint: string;
const links: PeerLink[] = [];

function tlsOptions(cluster: string) {
  return schema.parse({
    global_host: 'example.com',
    local_host: cluster,
    connections: {
      endpoints: ['127.0.0.1:5555'],
      tls: { certfile: join(dir, `${cluster}.pem`), keyfile: join(dir, `${cluster}.key`), cafile: join(dir, 'gd-ca.pem') },
    },
  }).connections.tls;
}

beforeAll(async () => {
  const steps = blocks('sh').filter((b) => b.includes('openssl req')).join('\n');
  execFileSync('bash', ['-e', '-c', steps], { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  endpoint = `127.0.0.1:${await freePort()}`;
  inbound = new InboundLinks({
    endpoints: [endpoint],
    tls: await loadLinkTls(tlsOptions('eu-1'), 'eu-1'),
    log,
    onStanza: (packet, frame) => { received.push({ origin: frame.origin, to: packet.to.toString() }); },
    onIdentityMismatch: () => { euMismatches++; },
  });
  await inbound.start();
});

afterAll(() => {
  for (const link of links) link.close();
  inbound?.stop();
  rmSync(home, { recursive: true, force: true });
});

/** us-1's link to `peer` (always reaching eu-1's endpoint), saying HELLO as `origin`. */
function usLink(tls: LinkTls, peer: string, origin: string, onUndeliverable: (frame: PendingFrame, reason: string) => void, onIdentityMismatch = () => {}): PeerLink {
  const link = new PeerLink({
    peer, origin, boot: `boot-${peer}-${origin}`, slots: 1, tls,
    deliveryTimeoutMs: 300, maxPending: 100,
    resolveEndpoints: async () => [endpoint],
    onUndeliverable, onIdentityMismatch, log,
  });
  links.push(link);
  return link;
}

test('each certificate names its cluster: the module loads it for that cluster only', async () => {
  expect(await loadLinkTls(tlsOptions('us-1'), 'us-1')).toBeDefined();
  await expect(loadLinkTls(tlsOptions('eu-1'), 'us-1')).rejects.toThrow('connections.tls.certfile: expected a certificate naming this cluster "us-1" (subjectAltName DNS), got one naming DNS:eu-1, CN:eu-1');
});

test('us-1 dials eu-1 with the documented certificates and its stanza is routed there', async () => {
  const link = usLink((await loadLinkTls(tlsOptions('us-1'), 'us-1'))!, 'eu-1', 'us-1', () => {});
  expect(link.send(4, 'alice@example.com/us', 'bob@example.com/eu', "<message to='bob@example.com/eu'><body>hi</body></message>")).toBe(true);
  await waitUntil('the stanza routed on eu-1', () => received.length > 0);
  expect(received).toEqual([{ origin: 'us-1', to: 'bob@example.com/eu' }]);
  await waitUntil('its acknowledgement', () => link.pending === 0);
});

test('dialling "ap-1" and reaching a certificate for eu-1: refused, and the stanza returned', async () => {
  const returned: string[] = [];
  let mismatches = 0;
  const link = usLink((await loadLinkTls(tlsOptions('us-1'), 'us-1'))!, 'ap-1', 'us-1', (frame, reason) => returned.push(`${frame.to} ${reason}`), () => { mismatches++; });
  const before = received.length;
  link.send(4, 'alice@example.com/us', 'carol@example.com/ap', "<message to='carol@example.com/ap'/>");
  await waitUntil('the stanza returned', () => {
    link.expire();
    return returned.length > 0;
  });
  expect(returned).toEqual(['carol@example.com/ap peer unreachable']);
  expect(mismatches).toBeGreaterThanOrEqual(1);
  expect(received.length).toBe(before);
  expect(events('gd_link_identity_mismatch').find((e) => e.peer === 'ap-1')).toMatchObject({ endpoint, certificate_names: ['DNS:eu-1', 'CN:eu-1'] });
});

test('us-1 saying HELLO as "ap-1" is cut off by eu-1 before its stanza is routed', async () => {
  const returned: string[] = [];
  const link = usLink((await loadLinkTls(tlsOptions('us-1'), 'us-1'))!, 'eu-1', 'ap-1', (frame) => returned.push(frame.to));
  const before = received.length;
  link.send(4, 'mallory@example.com/ap', 'bob@example.com/eu', "<message to='bob@example.com/eu'><body>forged</body></message>");
  await waitUntil('the stanza returned', () => {
    link.expire();
    return returned.length > 0;
  });
  expect(returned).toEqual(['bob@example.com/eu']);
  expect(received.length).toBe(before);
  expect(euMismatches).toBeGreaterThanOrEqual(1);
  expect(events('gd_link_identity_mismatch').find((e) => e.claimed === 'ap-1')).toMatchObject({ certificate_names: ['DNS:us-1', 'CN:us-1'] });
});
