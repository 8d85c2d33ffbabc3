// Counters, gauges and histograms for /metrics (Prometheus text format 0.0.4).
// Names get the `meerkat_` prefix. Labels are for low-cardinality values only (transport,
// kind, condition, mechanism): never JIDs or addresses, so a series count stays bounded.

type Labels = Record<string, string>;

const LATENCY_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5];
/** For work that stays in the process (routing one stanza): microseconds to milliseconds. */
export const FAST_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025];

/** One series as data (the dashboard and admin API read these). */
export interface SeriesValue {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: Readonly<Labels>;
  readonly value: number;
}

/** A series set beyond this many label combinations stops growing (and says so once). */
const MAX_SERIES_PER_METRIC = 200;

interface Histogram {
  buckets: number[];
  counts: number[];
  sum: number;
  count: number;
}

// Series keys of one-label series (most of them, counted per stanza or per login), by label
// name and value: values are few (see above), so the escaped text is built once. Bounded
// anyway, so a caller breaking that rule costs time, not memory.
const singleLabelKeys = new Map<string, Map<string, string>>();
const MAX_KEPT_VALUES_PER_LABEL = 1000;

function key(labels: Labels | undefined): string {
  if (!labels) return '';
  const names = Object.keys(labels);
  if (names.length === 1) return singleLabelKey(names[0]!, labels[names[0]!]!);
  names.sort();
  let s = '';
  for (const n of names) s += (s ? ',' : '') + `${n}="${escapeLabel(labels[n])}"`;
  return s;
}

function singleLabelKey(name: string, value: string): string {
  let byValue = singleLabelKeys.get(name);
  if (byValue === undefined) singleLabelKeys.set(name, (byValue = new Map()));
  let k = byValue.get(value);
  if (k === undefined) {
    k = `${name}="${escapeLabel(value)}"`;
    if (byValue.size < MAX_KEPT_VALUES_PER_LABEL) byValue.set(value, k);
  }
  return k;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>();
  private readonly gauges = new Map<string, () => number>();
  private readonly histograms = new Map<string, Map<string, Histogram>>();
  private readonly help = new Map<string, string>();
  private readonly bucketsOf = new Map<string, number[]>();
  private readonly counterReaders = new Map<string, () => number>();
  private readonly labelledGauges = new Map<string, { label: string; read: () => Record<string, number> }>();
  readonly startedAt = Date.now();

  describe(name: string, help: string): void {
    this.help.set(name, help);
  }

  inc(name: string, labels?: Labels, by = 1): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    const k = key(labels);
    const current = series.get(k);
    if (current === undefined && series.size >= MAX_SERIES_PER_METRIC) return;
    series.set(k, (current ?? 0) + by);
  }

  /** Current value of a counter (tests, the admin API's stats). */
  value(name: string, labels?: Labels): number {
    return this.counters.get(name)?.get(key(labels)) ?? 0;
  }

  /** Sum over every label combination of a counter. */
  total(name: string): number {
    let sum = 0;
    for (const v of this.counters.get(name)?.values() ?? []) sum += v;
    return sum;
  }

  /** A gauge read when metrics are rendered. */
  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read);
  }

  /** A counter kept elsewhere (router statistics, tokenizer bytes), read when rendered. */
  counterFrom(name: string, read: () => number): void {
    this.counterReaders.set(name, read);
  }

  /** A gauge with one label, read when rendered: { tcp: 3, http: 1 } → name{label="tcp"} 3 … */
  gaugeByLabel(name: string, label: string, read: () => Record<string, number>): void {
    this.labelledGauges.set(name, { label, read });
  }

  /** Bucket bounds for a histogram (before its first observation); latency buckets otherwise. */
  buckets(name: string, bounds: number[]): void {
    this.bucketsOf.set(name, [...bounds].sort((a, b) => a - b));
  }

  /** Every counter and gauge series as data. */
  snapshot(): SeriesValue[] {
    const out: SeriesValue[] = [];
    for (const [name, series] of this.counters) {
      for (const [k, value] of series) out.push({ name, type: 'counter', labels: parseKey(k), value });
    }
    for (const [name, read] of this.counterReaders) out.push({ name, type: 'counter', labels: {}, value: safeRead(read) });
    for (const [name, read] of this.gauges) out.push({ name, type: 'gauge', labels: {}, value: safeRead(read) });
    for (const [name, g] of this.labelledGauges) {
      for (const [v, value] of Object.entries(safeReadRecord(g.read))) out.push({ name, type: 'gauge', labels: { [g.label]: v }, value });
    }
    return out;
  }

  observe(name: string, value: number, labels?: Labels): void {
    let series = this.histograms.get(name);
    if (!series) this.histograms.set(name, (series = new Map()));
    const k = key(labels);
    let h = series.get(k);
    if (!h) {
      if (series.size >= MAX_SERIES_PER_METRIC) return;
      const buckets = this.bucketsOf.get(name) ?? LATENCY_BUCKETS;
      h = { buckets, counts: new Array(buckets.length).fill(0), sum: 0, count: 0 };
      series.set(k, h);
    }
    for (let i = 0; i < h.buckets.length; i++) if (value <= h.buckets[i]) h.counts[i]++;
    h.sum += value;
    h.count++;
  }

  render(): string {
    const lines: string[] = [];
    const head = (name: string, type: string) => {
      const help = this.help.get(name);
      if (help) lines.push(`# HELP meerkat_${name} ${help}`);
      lines.push(`# TYPE meerkat_${name} ${type}`);
    };
    for (const [name, series] of this.counters) {
      head(name, 'counter');
      for (const [k, v] of series) lines.push(`meerkat_${name}${k ? `{${k}}` : ''} ${v}`);
    }
    for (const [name, read] of this.counterReaders) {
      head(name, 'counter');
      lines.push(`meerkat_${name} ${safeRead(read)}`);
    }
    for (const [name, read] of this.gauges) {
      head(name, 'gauge');
      lines.push(`meerkat_${name} ${safeRead(read)}`);
    }
    for (const [name, g] of this.labelledGauges) {
      head(name, 'gauge');
      for (const [v, value] of Object.entries(safeReadRecord(g.read))) lines.push(`meerkat_${name}{${g.label}="${escapeLabel(v)}"} ${value}`);
    }
    for (const [name, series] of this.histograms) {
      head(name, 'histogram');
      for (const [k, h] of series) {
        const sep = k ? `${k},` : '';
        for (let i = 0; i < h.buckets.length; i++) lines.push(`meerkat_${name}_bucket{${sep}le="${h.buckets[i]}"} ${h.counts[i]}`);
        lines.push(`meerkat_${name}_bucket{${sep}le="+Inf"} ${h.count}`);
        lines.push(`meerkat_${name}_sum${k ? `{${k}}` : ''} ${h.sum}`);
        lines.push(`meerkat_${name}_count${k ? `{${k}}` : ''} ${h.count}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

function safeRead(read: () => number): number {
  try {
    return read();
  } catch {
    return Number.NaN;
  }
}

function safeReadRecord(read: () => Record<string, number>): Record<string, number> {
  try {
    return read();
  } catch {
    return {};
  }
}

/** The labels of a series key (the inverse of key()). */
function parseKey(k: string): Labels {
  const labels: Labels = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const m of k.matchAll(re)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return labels;
}
