// Runs under Node, started by ./launch.ts: measures node-expat (whose addon Bun cannot
// load) on the same corpora and prints the measurements as one JSON line.
// Argument: {"targetBytes": number, "budget": Budget}.

import { nodeExpat } from '../adapters/node-expat.ts';
import { buildCorpus, CORPUS_KINDS } from '../corpus/index.ts';
import { MODES } from '../adapter.ts';
import { type Budget, type Measurement, measureAdapter } from '../measure.ts';

const { targetBytes, budget } = JSON.parse(process.argv[2] ?? '{}') as { targetBytes: number; budget: Budget };
const measurements: Measurement[] = [];
for (const kind of CORPUS_KINDS) {
  const corpus = buildCorpus(kind, targetBytes);
  for (const mode of MODES) measurements.push(await measureAdapter(nodeExpat, corpus, mode, budget));
}
process.stdout.write(JSON.stringify(measurements) + '\n');
