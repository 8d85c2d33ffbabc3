// Smoke test of the HTTP transports benchmark (bench/http/): a tiny run against a real
// server process — a few idle BOSH sessions and one pair per transport doing a fixed
// number of checked round trips. Counts only; speed belongs to the benchmark itself.

import { expect, test } from 'bun:test';
import { runHttpBench } from '../../../bench/http/run.ts';
import { renderSection } from '../../../bench/http/report.ts';

test('every transport completes its round trips while idle BOSH sessions keep holding', async () => {
  const result = await runHttpBench({ idle: 5, pairs: 1, seconds: 1, rounds: 25, warmupRounds: 3 });
  expect(result.idleSessions).toBe(5);
  expect(result.idleStillHolding).toBe(5);
  expect(result.transports.map((t) => [t.transport, t.pairs, t.roundTrips])).toEqual([
    ['tcp', 1, 25],
    ['websocket', 1, 25],
    ['bosh', 1, 25],
  ]);
  const section = renderSection(result);
  expect(section).toStartWith('## HTTP transports\n');
  expect(section).toContain('| bosh | 1 | 25 |');
}, 30_000);
