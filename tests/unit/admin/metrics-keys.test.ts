// Series keys: one-label keys are kept per label value (they are built on every stanza),
// and still render, escape and read back exactly like keys built each time.

import { expect, test } from 'bun:test';
import { Metrics } from '../../../server/metrics.ts';

test('one-label series: the same series for equal labels, escaped in the text format', () => {
  const m = new Metrics();
  m.inc('stanzas_in_total', { kind: 'message' });
  m.inc('stanzas_in_total', { kind: 'message' });
  m.inc('stanzas_in_total', { kind: 'iq' });
  m.inc('odd_total', { why: 'a"b\\c\nd' });
  expect(m.value('stanzas_in_total', { kind: 'message' })).toBe(2);
  expect(m.value('stanzas_in_total', { kind: 'iq' })).toBe(1);
  const text = m.render();
  expect(text).toContain('meerkat_stanzas_in_total{kind="message"} 2\n');
  expect(text).toContain('meerkat_odd_total{why="a\\"b\\\\c\\nd"} 1\n');
  expect(m.snapshot().find((s) => s.name === 'odd_total')?.labels).toEqual({ why: 'a"b\\c\nd' });
});

test('several labels: sorted by name, whatever the order given', () => {
  const m = new Metrics();
  m.inc('error_stanzas_total', { kind: 'iq', direction: 'in' });
  m.inc('error_stanzas_total', { direction: 'in', kind: 'iq' });
  expect(m.render()).toContain('meerkat_error_stanzas_total{direction="in",kind="iq"} 2\n');
});

test('more label values than are kept still count each value apart', () => {
  const m = new Metrics();
  for (let i = 0; i < 1500; i++) m.observe('latency_seconds', 0.001, { op: `op${i % 150}` });
  for (let i = 0; i < 1200; i++) m.inc('many_total', { value: `v${i}` });
  expect(m.value('many_total', { value: 'v3' })).toBe(1);
  expect(m.render()).toContain('meerkat_latency_seconds_count{op="op7"} 10\n');
});
