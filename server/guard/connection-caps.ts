// Open-connection counts, per IP address and in total. A connection is admitted only
// while both are under their caps; release() must be called exactly once per admission.

export type CapRefusal = 'per-ip' | 'total';

export class ConnectionCaps {
  private readonly perIp = new Map<string, number>();
  private open = 0;

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Counts the connection in, or says which cap it would cross. */
  admit(ip: string): CapRefusal | undefined {
    if (this.open >= this.maxTotal) return 'total';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) return 'per-ip';
    this.perIp.set(ip, n + 1);
    this.open++;
    return undefined;
  }

  release(ip: string): void {
    const n = this.perIp.get(ip);
    if (n === undefined) return;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.open--;
  }

  get total(): number {
    return this.open;
  }

  from(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** Distinct addresses with open connections (bounded by the total cap). */
  get addresses(): number {
    return this.perIp.size;
  }
}
