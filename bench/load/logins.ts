// Logins: account registration before a run (XEP-0077, each server's own code), and the
// login storm (many clients at once through SASL, bind and initial presence).

import { XmppClient, type LoginOptions } from '../route/client.ts';

export interface StormResult {
  mechanism: string;
  count: number;
  ms: number;
  perSec: number;
  clients: XmppClient[];
}

/** Runs `task` for every item with at most `concurrency` at once; the first error throws. */
export async function inParallel<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await task(items[i]!);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

export async function registerAll(users: string[], o: LoginOptions, concurrency: number): Promise<void> {
  await inParallel(users, concurrency, (u) => XmppClient.register(u, o));
}

/** Logs every user in (one session each) and keeps the sessions open. */
export async function loginStorm(users: string[], o: LoginOptions, concurrency: number): Promise<StormResult> {
  const started = performance.now();
  const clients: XmppClient[] = [];
  try {
    await inParallel(users, concurrency, async (u) => {
      const c = await XmppClient.login(u, o);
      clients.push(c);
      return c;
    });
  } catch (err) {
    await closeAll(clients);
    throw err;
  }
  const ms = performance.now() - started;
  return { mechanism: o.mechanism ?? 'PLAIN', count: clients.length, ms, perSec: (clients.length / ms) * 1000, clients };
}

export async function closeAll(clients: XmppClient[]): Promise<void> {
  await inParallel(clients, 500, (c) => c.close());
}
