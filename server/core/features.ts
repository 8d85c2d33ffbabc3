// Disco features per host, as modules declare them. Counted, because two modules may
// announce the same namespace and stopping one must not hide it for the other.

export class FeatureRegistry {
  private readonly byHost = new Map<string, Map<string, number>>();
  private changes = 0;

  add(host: string, feature: string): () => void {
    let counts = this.byHost.get(host);
    if (!counts) this.byHost.set(host, (counts = new Map()));
    counts.set(feature, (counts.get(feature) ?? 0) + 1);
    this.changes++;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const n = counts.get(feature) ?? 0;
      if (n <= 1) counts.delete(feature);
      else counts.set(feature, n - 1);
      this.changes++;
    };
  }

  /** Changes whenever a feature is added or removed (what caches derived from the lists check). */
  get generation(): number {
    return this.changes;
  }

  /** The features of a host, sorted (disco#info answers are easier to compare that way). */
  list(host: string): string[] {
    return [...(this.byHost.get(host)?.keys() ?? [])].sort();
  }
}
