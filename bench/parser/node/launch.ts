// Measures node-expat in a Node child process. node-expat is a NAN addon: it builds only
// against the Node headers on this machine and Bun refuses its module ABI. The addon is
// built here on first use (npm does not run dependency install scripts unless approved),
// the child is bundled with Bun into node_modules/.cache so Node resolves node-expat from
// the project, and any step that cannot work yields a reason instead of a crash.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Budget, Measurement } from '../measure.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ADDON_DIR = ROOT + 'node_modules/node-expat';
const ADDON = ADDON_DIR + '/build/Release/node_expat.node';
const CACHE = ROOT + 'node_modules/.cache/meerkat-parser-bench';
const BUNDLE = CACHE + '/node-child.mjs';

function run(command: string, args: string[], cwd = ROOT): { ok: boolean; out: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const out = (result.stdout ?? '') + (result.stderr ?? '');
  return { ok: !result.error && result.status === 0, out: result.error ? result.error.message : out };
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-2).join(' ').slice(0, 300);
}

export function nodeExpatAddonBuilt(): boolean {
  return existsSync(ADDON);
}

function ensureAddon(): string | undefined {
  if (!existsSync(ADDON_DIR)) return 'node-expat is not installed (npm install)';
  if (existsSync(ADDON)) return undefined;
  const npmRoot = run('npm', ['root', '-g']);
  const gyp = npmRoot.out.trim() + '/npm/node_modules/node-gyp/bin/node-gyp.js';
  if (!npmRoot.ok || !existsSync(gyp)) return 'node-gyp not found next to npm';
  // Headers come from the local Node install; nothing is downloaded.
  const build = run('node', [gyp, 'rebuild', '--nodedir=/usr'], ADDON_DIR);
  return build.ok && existsSync(ADDON) ? undefined : `node-gyp rebuild failed: ${lastLines(build.out)}`;
}

export function measureNodeExpat(targetBytes: number, budget: Budget): Measurement[] | { skipped: string } {
  if (!run('node', ['--version']).ok) return { skipped: 'node is not on PATH' };
  const addonProblem = ensureAddon();
  if (addonProblem) return { skipped: addonProblem };
  mkdirSync(CACHE, { recursive: true });
  const bundle = run(process.execPath, ['build', fileURLToPath(new URL('./child.ts', import.meta.url)),
    '--target=node', '--external', 'node-expat', '--outfile', BUNDLE]);
  if (!bundle.ok) return { skipped: `bundling the Node child failed: ${lastLines(bundle.out)}` };
  const child = run('node', [BUNDLE, JSON.stringify({ targetBytes, budget })]);
  if (!child.ok) throw new Error(`node-expat child failed: ${lastLines(child.out)}`);
  const line = child.out.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measurement[];
}
