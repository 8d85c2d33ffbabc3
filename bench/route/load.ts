// The load generator: logs in N sender/receiver pairs, then floods. Each sender keeps at
// most `window` messages in flight to its receiver (closed loop), so the server is kept
// busy without unbounded queues, and latency measures routing rather than a backlog the
// client built. Every run ends with sent = received, in order, per pair, or it fails.

import { XmppClient, type LoginOptions } from './client.ts';
import { chatMessage, parseBody, receiverName, senderName } from './protocol.ts';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

export interface FleetOptions extends LoginOptions {
  pairs: number;
  /** Logins in progress at once. */
  loginConcurrency: number;
}

export interface Pair {
  readonly index: number;
  readonly sender: XmppClient;
  readonly receiver: XmppClient;
}

export interface Fleet {
  readonly pairs: Pair[];
  readonly loginMs: number;
}

export async function loginFleet(o: FleetOptions): Promise<Fleet> {
  const started = performance.now();
  const users: string[] = [];
  for (let i = 0; i < o.pairs; i++) users.push(senderName(i), receiverName(i));
  const clients = new Map<string, XmppClient>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const user = users[next++]!;
      clients.set(user, await XmppClient.login(user, o));
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.loginConcurrency, users.length) }, worker));
  } catch (err) {
    await Promise.all([...clients.values()].map((c) => c.close()));
    throw err;
  }
  const pairs: Pair[] = [];
  for (let i = 0; i < o.pairs; i++) pairs.push({ index: i, sender: clients.get(senderName(i))!, receiver: clients.get(receiverName(i))! });
  return { pairs, loginMs: performance.now() - started };
}

export async function closeFleet(fleet: Fleet): Promise<void> {
  await Promise.all(fleet.pairs.flatMap((p) => [p.sender.close(), p.receiver.close()]));
}

export interface FloodOptions {
  durationMs: number;
  /** Sent at the start but left out of throughput and latency (JIT warm-up). */
  warmupMs: number;
  window: number;
  /** How long to wait after sending stops for the last messages. */
  drainTimeoutMs: number;
  /** Called when the measured window starts and ends (e.g. to read the server's CPU time). */
  onMeasureStart?: () => void;
  onMeasureEnd?: () => void;
}

export interface FloodResult {
  sent: number;
  received: number;
  /** Messages received per second during the measured window. */
  deliveredPerSec: number;
  latency: LatencySummary;
  measuredMs: number;
  /** CPU time of this (client) process during the measured window, as a share of one core. */
  clientCpu: number;
  /** Problems: missing, duplicated or reordered messages, errors, closed streams. */
  problems: string[];
}

interface PairState {
  sent: number;
  received: number;
  tail: string;
  senderText: string;
}

const PRESENCE = /<presence\b[^>]*\/>|<presence\b[^>]*>[\s\S]*?<\/presence>/g;

function withoutPresence(text: string): string {
  return text.replace(PRESENCE, '').trim();
}

export async function flood(fleet: Fleet, o: FloodOptions): Promise<FloodResult> {
  const problems: string[] = [];
  const note = (p: string): void => {
    if (problems.length < 20) problems.push(p);
  };
  const latency = new LatencyRecorder();
  let sending = true;
  let measureFrom = Infinity;
  let receivedTotal = 0;
  let receivedAtMeasureStart = 0;
  let onProgress: (() => void) | undefined;

  const states: PairState[] = fleet.pairs.map(() => ({ sent: 0, received: 0, tail: '', senderText: '' }));

  for (const pair of fleet.pairs) {
    const st = states[pair.index]!;
    const to = pair.receiver.jid;
    const pump = (): void => {
      while (sending && st.sent - st.received < o.window) {
        pair.sender.conn.write(chatMessage(to, st.sent, performance.now()));
        st.sent++;
      }
    };
    // Senders expect nothing back but presence (a server may echo the initial presence to
    // the user's own resources, RFC 6121 §4.2.2): anything else is an error bounce or a
    // stream error. Kept (bounded) and judged once the flood is over.
    st.senderText = pair.sender.takeLeftover();
    pair.sender.conn.onText((text) => {
      if (st.senderText.length < 65536) st.senderText += text;
    });
    const receiverLeftover = withoutPresence(pair.receiver.takeLeftover());
    if (receiverLeftover !== '') note(`${pair.receiver.user}: unexpected data after login: ${receiverLeftover.slice(0, 200)}`);

    pair.receiver.conn.onText((text) => {
      const buf = st.tail + text;
      if (buf.includes('<stream:error') || buf.includes("type='error'") || buf.includes('type="error"')) {
        note(`${pair.receiver.user} received an error: ${buf.slice(0, 300)}`);
      }
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
          note(`${pair.receiver.user}: unreadable body`);
          continue;
        }
        if (fields.seq !== st.received) note(`${pair.receiver.user}: expected message ${st.received}, got ${fields.seq}`);
        st.received++;
        receivedTotal++;
        if (fields.sentAt >= measureFrom) latency.record(performance.now() - fields.sentAt);
      }
      // Keep what may still become a message: an unfinished body, or the last few
      // characters in case "<body>" itself was split across two reads.
      st.tail = unfinished ? buf.slice(pos) : buf.slice(Math.max(pos, buf.length - 5));
      pump();
      onProgress?.();
    });
    pump();
  }

  await sleep(o.warmupMs);
  measureFrom = performance.now();
  receivedAtMeasureStart = receivedTotal;
  const cpuBefore = process.cpuUsage();
  o.onMeasureStart?.();
  await sleep(o.durationMs);
  sending = false;
  const measureEnd = performance.now();
  o.onMeasureEnd?.();
  const receivedInWindow = receivedTotal - receivedAtMeasureStart;
  const cpu = process.cpuUsage(cpuBefore);
  const measuredMs = measureEnd - measureFrom;

  // Drain: wait until every pair has everything it was sent, or the timeout.
  const sentTotal = (): number => states.reduce((n, s) => n + s.sent, 0);
  const deadline = performance.now() + o.drainTimeoutMs;
  while (receivedTotal < sentTotal() && performance.now() < deadline) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 50);
      onProgress = () => {
        clearTimeout(t);
        resolve();
      };
    });
    onProgress = undefined;
  }

  const sent = sentTotal();
  for (const pair of fleet.pairs) {
    // What comes after the flood (the server's answer to our stream close) is not its business.
    pair.sender.conn.onText(() => {});
    pair.receiver.conn.onText(() => {});
    const st = states[pair.index]!;
    const unexpected = withoutPresence(st.senderText);
    if (unexpected !== '') note(`${pair.sender.user} received: ${unexpected.slice(0, 200)}`);
    if (st.sent !== st.received) note(`pair ${pair.index}: sent ${st.sent}, received ${st.received}`);
    if (pair.sender.conn.closed || pair.receiver.conn.closed) note(`pair ${pair.index}: a stream closed during the flood`);
  }
  return {
    sent,
    received: receivedTotal,
    deliveredPerSec: (receivedInWindow / measuredMs) * 1000,
    latency: latency.summary(),
    measuredMs,
    clientCpu: (cpu.user + cpu.system) / 1000 / measuredMs,
    problems,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
