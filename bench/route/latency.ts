// Latency samples in a growable Float64Array (no per-sample allocation), summarized once.

export interface LatencySummary {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

export class LatencyRecorder {
  private values = new Float64Array(1 << 16);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.count).sort();
    const at = (q: number): number => (this.count === 0 ? NaN : sorted[Math.min(this.count - 1, Math.floor(q * this.count))]!);
    return { samples: this.count, p50: at(0.5), p99: at(0.99), max: at(1) };
  }
}
