// Enforces the step-calling contract of SaslExchange once, for every mechanism: one step
// at a time, and nothing after success or failure.

import type { SaslExchange, SaslStep } from './types.ts';

export function guardedExchange(run: (input: Uint8Array | null) => Promise<SaslStep>): SaslExchange {
  let pending = false;
  let finished = false;
  return {
    async step(input) {
      if (finished) throw new Error('SASL exchange already finished');
      if (pending) throw new Error('SASL exchange step already in progress');
      pending = true;
      try {
        const result = await run(input);
        if (result.kind !== 'challenge') finished = true;
        return result;
      } catch (err) {
        finished = true;
        throw err;
      } finally {
        pending = false;
      }
    },
  };
}
