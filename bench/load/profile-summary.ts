// Summarizes a .cpuprofile written by `bun --cpu-prof` (LOAD_BENCH_CPU_PROF=<dir> makes the
// load benchmark's Meerkat write one): the functions with the most self time and the most
// total (inclusive) time, optionally over the last N seconds only (the chat steps come
// last in a run, after registration and logins). --skip-end leaves out the last seconds
// (what follows the part of interest: closing the sessions, stopping the server), so
// `--last 12 --skip-end 2` covers from 12 s to 2 s before the end.
//
//   bun bench/load/profile-summary.ts FILE.cpuprofile [--last 40] [--skip-end 0] [--top 25]

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const flag = (name: string): number | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : undefined;
};
const file = args[0];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--last SECONDS] [--skip-end SECONDS] [--top N]');
const lastUs = (flag('--last') ?? Infinity) * 1e6;
const skipEndUs = (flag('--skip-end') ?? 0) * 1e6;
const top = flag('--top') ?? 25;

const profile = (await Bun.file(file).json()) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const root = new URL('../../', import.meta.url).pathname;
const label = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace('file://', '').replace(root, '') || '(native)'}${n.callFrame.lineNumber >= 0 ? `:${n.callFrame.lineNumber + 1}` : ''}`;

const span = profile.timeDeltas.reduce((a, b) => a + b, 0);
const self = new Map<string, number>();
const total = new Map<string, number>();
let t = 0;
let counted = 0;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0;
  if (span - t > lastUs || span - t < skipEndUs) continue;
  const dt = profile.timeDeltas[i + 1] ?? 0;
  const node = byId.get(profile.samples[i]!)!;
  counted += dt;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const l = label(byId.get(id)!);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + dt);
  }
}
const list = (m: Map<string, number>): string =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${((100 * v) / counted).toFixed(1).padStart(5)}%  ${k}`).join('\n');
process.stdout.write(`${(counted / 1e6).toFixed(1)} s of samples${Number.isFinite(lastUs) ? ` (last ${lastUs / 1e6} s of ${(span / 1e6).toFixed(1)} s${skipEndUs > 0 ? `, without the last ${skipEndUs / 1e6} s` : ''})` : ''}\n`);
process.stdout.write(`--- self time\n${list(self)}\n--- total time\n${list(total)}\n`);
