// Chooses the runtime implementation once, at start-up.

import type { Runtime } from './types.ts';

export type { Runtime } from './types.ts';

let chosen: Runtime | undefined;

export async function getRuntime(): Promise<Runtime> {
  if (chosen) return chosen;
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) chosen = (await import('./bun.ts')).bunRuntime;
  else if (g.Deno !== undefined) chosen = (await import('./deno.ts')).denoRuntime;
  else throw new Error('Meerkat runs on Bun or Deno 2; this runtime is neither');
  return chosen;
}
