// Storage with every call timed into meerkat_storage_latency_seconds{op="<store>_<method>"}.
// The label values come from this fixed list of method names, never from arguments.

import type { Metrics } from '../metrics.ts';
import type { Storage } from '../storage/storage.ts';

const STORES = ['users', 'kv', 'roster', 'offline'] as const;

function timed<T extends object>(store: T, prefix: string, metrics: Metrics): T {
  const wrapped: Record<string, unknown> = {};
  for (const name of methodNames(store)) {
    const method = (store as Record<string, unknown>)[name];
    if (typeof method !== 'function') continue;
    const labels = { op: `${prefix}_${name}` };
    wrapped[name] = (...args: unknown[]) => {
      const started = performance.now();
      const result: unknown = method.apply(store, args);
      const done = () => metrics.observe('storage_latency_seconds', (performance.now() - started) / 1000, labels);
      if (result instanceof Promise) return result.finally(done);
      done();
      return result;
    };
  }
  return wrapped as T;
}

function methodNames(obj: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = obj; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const n of Object.getOwnPropertyNames(o)) if (n !== 'constructor') names.add(n);
  }
  return [...names];
}

export function timedStorage(storage: Storage, metrics: Metrics): Storage {
  const wrapped = new Map<string, object>();
  for (const store of STORES) wrapped.set(store, timed(storage[store], store, metrics));
  // Anything else (stores added later, close) passes through untouched.
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && wrapped.has(prop)) return wrapped.get(prop);
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
