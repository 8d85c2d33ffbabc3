// Chat throughput, open loop: every message goes from a random online user to another
// random user's bare JID, at an offered rate stepped up until the server breaks (p99
// latency over the limit twice in a row, or messages still missing after the drain). Each message's body
// carries its step, sequence number and send time; receivers count them per user, so a
// step passes only when every user got exactly what was sent to it.

import { readdirSync, readFileSync } from 'node:fs';
import { LatencyRecorder, type LatencySummary } from '../route/latency.ts';
import { chatMessage, parseBody } from '../route/protocol.ts';
import type { TextConnection } from '../route/connection.ts';

export interface ChatUser {
  /** Account name; messages go to `${user}@${domain}`. */
  readonly user: string;
  readonly conn: TextConnection;
}

export interface ChatOptions {
  domain: string;
  /** Offered rates, msgs/s, in increasing order. */
  rates: number[];
  stepMs: number;
  /** Longest wait for stragglers after each step. */
  drainMs: number;
  /** A step breaks when its p99 latency is above this. */
  p99LimitMs: number;
  /** Called when each step's sending starts and ends (e.g. to read the server's CPU time). */
  onStepStart?: () => void;
  onStepEnd?: () => { cpu: number; waited: number } | undefined;
}

export interface ChatStep {
  offered: number;
  /** What the generator actually sent per second (below `offered` if it could not keep up). */
  sentPerSec: number;
  /** Messages of this step received per second of the step's sending window. */
  deliveredPerSec: number;
  sent: number;
  received: number;
  latency: LatencySummary;
  /** Share of one core the server used while the step was sending, when known. */
  serverCpu: number | undefined;
  /** Share of the step the server's threads were runnable but not running (other load). */
  serverWaited: number | undefined;
  /** The same for this generator's threads. */
  generatorWaited: number;
  ok: boolean;
  why: string;
  /** This step repeats the previous one, which failed once. */
  retry: boolean;
}

export interface ChatResult {
  steps: ChatStep[];
  /** The delivered rate of the highest step that passed (0 if none). */
  sustained: number;
  /** That step, when there is one. */
  best: ChatStep | undefined;
  sent: number;
  received: number;
  problems: string[];
}

const STEP_FACTOR = 10_000_000;
const PRESENCE = /<presence\b[^>]*\/>|<presence\b[^>]*>[\s\S]*?<\/presence>/g;

export async function chatSteps(users: ChatUser[], o: ChatOptions): Promise<ChatResult> {
  if (users.length < 2) throw new Error('chat needs at least two users');
  const problems: string[] = [];
  const note = (p: string): void => {
    if (problems.length < 20) problems.push(p);
  };
  const expected = new Int32Array(users.length);
  const received = new Int32Array(users.length);
  let step = 0;
  let stepReceived = 0;
  let latency = new LatencyRecorder();
  let totalReceived = 0;
  let onProgress: (() => void) | undefined;

  users.forEach((u, i) => {
    let tail = '';
    u.conn.onText((text) => {
      const buf = tail + text;
      if (buf.includes('<stream:error') || /type=['"]error['"]/.test(buf)) note(`${u.user} received an error: ${buf.replace(PRESENCE, '').slice(0, 300)}`);
      let pos = 0;
      let unfinished = false;
      for (;;) {
        const open = buf.indexOf('<body>', pos);
        if (open < 0) break;
        const close = buf.indexOf('</body>', open);
        if (close < 0) {
          pos = open;
          unfinished = true;
          break;
        }
        const fields = parseBody(buf.slice(open + 6, close));
        pos = close + 7;
        if (fields === undefined) {
          note(`${u.user}: unreadable body`);
          continue;
        }
        received[i]!++;
        totalReceived++;
        if (Math.floor(fields.seq / STEP_FACTOR) === step) {
          stepReceived++;
          latency.record(performance.now() - fields.sentAt);
        }
      }
      tail = unfinished ? buf.slice(pos) : buf.slice(Math.max(pos, buf.length - 5));
      onProgress?.();
    });
  });

  const steps: ChatStep[] = [];
  let totalSent = 0;
  let retried = false;
  for (let r = 0; r < o.rates.length; r++) {
    const rate = o.rates[r]!;
    step++;
    stepReceived = 0;
    latency = new LatencyRecorder();
    let sent = 0;
    o.onStepStart?.();
    const generatorWait0 = selfRunDelayMs();
    const start = performance.now();
    const end = start + o.stepMs;
    for (;;) {
      const now = performance.now();
      if (now >= end) break;
      const due = Math.floor(((now - start) * rate) / 1000);
      while (sent < due) {
        const from = (Math.random() * users.length) | 0;
        let to = (Math.random() * (users.length - 1)) | 0;
        if (to >= from) to++;
        users[from]!.conn.write(chatMessage(`${users[to]!.user}@${o.domain}`, step * STEP_FACTOR + sent, performance.now()));
        expected[to]!++;
        sent++;
      }
      await sleep(1);
    }
    const sendMs = performance.now() - start;
    const server = o.onStepEnd?.();
    const generatorWaited = (selfRunDelayMs() - generatorWait0) / sendMs;
    const receivedInWindow = stepReceived;
    totalSent += sent;
    const deadline = performance.now() + o.drainMs;
    while (stepReceived < sent && performance.now() < deadline && !users.some((u) => u.conn.closed)) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        onProgress = () => {
          clearTimeout(t);
          resolve();
        };
      });
      onProgress = undefined;
    }
    const summary = latency.summary();
    const sentPerSec = (sent / sendMs) * 1000;
    let why = '';
    if (stepReceived < sent) why = `${sent - stepReceived} of ${sent} not delivered within ${o.drainMs} ms`;
    else if (summary.p99 > o.p99LimitMs) why = `p99 ${summary.p99.toFixed(0)} ms > ${o.p99LimitMs} ms`;
    else if (sent < (rate * sendMs * 0.95) / 1000 - 1) why = `generator offered only ${Math.round(sentPerSec)}/s`;
    const closed = users.filter((u) => u.conn.closed).length;
    if (closed > 0) why = `${closed} streams closed`;
    steps.push({
      offered: rate,
      sentPerSec,
      deliveredPerSec: (receivedInWindow / sendMs) * 1000,
      sent,
      received: stepReceived,
      latency: summary,
      serverCpu: server?.cpu,
      serverWaited: server?.waited,
      generatorWaited,
      ok: why === '',
      why,
      retry: retried,
    });
    if (why !== '') {
      // One failed step on a shared machine may be a neighbour's burst: a step breaks the
      // run only when it fails twice in a row (not for closed streams or lost messages).
      if (retried || closed > 0 || stepReceived < sent) break;
      retried = true;
      r--;
      continue;
    }
    retried = false;
  }

  // Whatever is still on its way after a broken step: give it a last chance, then check
  // every user's count.
  const deadline = performance.now() + Math.max(o.drainMs, 10_000);
  while (totalReceived < totalSent && performance.now() < deadline && !users.some((u) => u.conn.closed)) await sleep(50);
  for (let i = 0; i < users.length; i++) {
    if (received[i] !== expected[i]) note(`${users[i]!.user}: expected ${expected[i]}, received ${received[i]}`);
  }
  for (const u of users) u.conn.onText(() => {});
  const passed = steps.filter((s) => s.ok);
  const best = passed.length > 0 ? passed[passed.length - 1] : undefined;
  return { steps, sustained: best?.deliveredPerSec ?? 0, best, sent: totalSent, received: totalReceived, problems };
}

/** Time this process's threads spent runnable but waiting for a CPU, ms. */
export function selfRunDelayMs(): number {
  let ns = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      ns += Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      // thread gone
    }
  }
  return ns / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
