// Global Distribution: cross-cluster routing next to same-cluster routing, in one run.
//
//   bun bench/gd/cross-cluster.ts [messages=20000] [round-trips=500]
//
// Starts a test redis-server and two Meerkat clusters as processes (tests/integration/gd
// harness), logs xmpp.js users in, then measures for each path:
//   - throughput: one sender floods N numbered messages, time until the last one arrives;
//   - latency: sequential request/echo round trips (the receiver echoes each message back).
// Every run checks that all N messages arrived, in order.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { XmlElement } from '@xmpp/client';
import { chat, login, makeCertificates, startCluster, startRedis, type User } from '../../tests/integration/gd/harness.ts';

const N = Number(process.argv[2] ?? 20_000);
const RTT = Number(process.argv[3] ?? 500);

interface Result {
  path: string;
  msgsPerSec: number;
  p50: number;
  p99: number;
}

async function flood(sender: User, receiver: User, tag: string): Promise<number> {
  let got = 0;
  let expected = 0;
  let ordered = true;
  let done!: () => void;
  const finished = new Promise<void>((r) => { done = r; });
  const on = (s: XmlElement): void => {
    const body = s.getChildText('body');
    if (!s.is('message') || body === null || !body.startsWith(tag)) return;
    if (body !== `${tag}${expected}`) ordered = false;
    expected++;
    if (++got === N) done();
  };
  receiver.xmpp.on('stanza', on);
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    sender.xmpp.send(chat(receiver.jid, `${tag}${i}`));
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  receiver.xmpp.removeListener('stanza', on);
  if (got !== N || !ordered) throw new Error(`${tag}: ${got}/${N} messages, ordered=${ordered}`);
  return N / seconds;
}

async function roundTrips(sender: User, echoer: User, tag: string): Promise<number[]> {
  const echo = (s: XmlElement): void => {
    const body = s.getChildText('body');
    if (s.is('message') && body !== null && body.startsWith(tag)) void echoer.xmpp.send(chat(s.attrs.from!, body));
  };
  echoer.xmpp.on('stanza', echo);
  const samples: number[] = [];
  for (let i = 0; i < RTT; i++) {
    const body = `${tag}${i}`;
    const back = new Promise<void>((resolve) => {
      const on = (s: XmlElement): void => {
        if (s.is('message') && s.getChildText('body') === body) {
          sender.xmpp.removeListener('stanza', on);
          resolve();
        }
      };
      sender.xmpp.on('stanza', on);
    });
    const t = performance.now();
    await sender.xmpp.send(chat(echoer.jid, body));
    await back;
    samples.push(performance.now() - t);
  }
  echoer.xmpp.removeListener('stanza', echo);
  if (samples.length !== RTT) throw new Error(`${tag}: ${samples.length}/${RTT} round trips`);
  return samples.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

const certDir = await mkdtemp(join(tmpdir(), 'gd-bench-'));
const certs = await makeCertificates(certDir);
const redis = await startRedis();
const [dc1, dc2] = await Promise.all(['dc1', 'dc2'].map((name) => startCluster({ name, certs, redis: { port: redis.port }, users: ['alice', 'bob', 'carol'] })));
const users: User[] = [];
try {
  const receiver = await login(dc1!, 'alice', 'bench');
  const localSender = await login(dc1!, 'bob', 'bench');
  const remoteSender = await login(dc2!, 'carol', 'bench');
  users.push(receiver, localSender, remoteSender);
  // Warm both paths (link set-up, routing-table lookups, JIT).
  await flood(localSender, receiver, 'warm-local-').catch(() => 0);
  await flood(remoteSender, receiver, 'warm-remote-').catch(() => 0);
  const results: Result[] = [];
  for (const [path, sender] of [['same cluster', localSender], ['cross cluster', remoteSender]] as const) {
    const tag = path === 'same cluster' ? 'l' : 'r';
    const msgsPerSec = await flood(sender, receiver, `${tag}-`);
    const rtt = await roundTrips(sender, receiver, `${tag}-rtt-`);
    results.push({ path, msgsPerSec, p50: pct(rtt, 0.5), p99: pct(rtt, 0.99) });
  }
  const [same, cross] = results;
  console.log(`messages per flood: ${N}, round trips: ${RTT}`);
  console.log('| path | msgs/s | RTT p50 (ms) | RTT p99 (ms) |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.path} | ${Math.round(r.msgsPerSec)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
  console.log(`| cross / same | ${(cross!.msgsPerSec / same!.msgsPerSec).toFixed(2)}× | ${(cross!.p50 / same!.p50).toFixed(2)}× | ${(cross!.p99 / same!.p99).toFixed(2)}× |`);
} finally {
  for (const u of users) await u.stop();
  await dc1!.stop();
  await dc2!.stop();
  await redis.stop();
  await rm(certDir, { recursive: true, force: true });
}
process.exit(0);
