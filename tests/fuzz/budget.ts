// Time box of the fuzz suite: FUZZ_SECONDS for the whole suite (default 16 in `bun test`,
// so CI stays well under a minute), split evenly over the targets. By hand, e.g.
//   FUZZ_SECONDS=1200 ./node_modules/.bin/bun test tests/fuzz --timeout 2000000
// gives each of the four targets five minutes.

const TARGETS = 4;
const total = Number(process.env.FUZZ_SECONDS ?? '16');

export const MS_PER_TARGET = Math.max(500, Math.floor((Number.isFinite(total) && total > 0 ? total : 16) * 1000 / TARGETS));

/** fast-check parameters: as many runs as fit in the time box; running out of time is not a failure. */
export const FUZZ_PARAMS = {
  numRuns: 10_000_000,
  interruptAfterTimeLimit: MS_PER_TARGET,
  markInterruptAsFailure: false,
  seed: process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED),
} as const;

/** The bun:test timeout for one target: its box plus room to shrink a counterexample. */
export const TEST_TIMEOUT = MS_PER_TARGET + 30_000;
