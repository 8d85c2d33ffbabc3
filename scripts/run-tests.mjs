#!/usr/bin/env node
// Runs every test suite (Bun's runner, then the Deno suite) and ends with one line,
// `N passed, N failed`, summed from the runners' own counts. Exits non-zero on any failure,
// on a runner that crashed, or on a run that executed no test at all.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args, parse) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let text = '';
    const tee = (stream, out) => stream.on('data', (d) => { out.write(d); text += d.toString(); });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ code: code ?? 1, ...parse(text) }));
  });
}

// Bun prints " 123 pass" and " 4 fail" in its summary.
function parseBun(text) {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const pass = [...clean.matchAll(/^\s*(\d+) pass\s*$/gm)].pop();
  const fail = [...clean.matchAll(/^\s*(\d+) fail\s*$/gm)].pop();
  return { passed: pass ? Number(pass[1]) : 0, failed: fail ? Number(fail[1]) : 0 };
}

// Deno prints "ok | 12 passed | 0 failed" (or "FAILED | …").
function parseDeno(text) {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  let passed = 0, failed = 0;
  for (const m of clean.matchAll(/\|\s*(\d+) passed(?: \((\d+) steps?\))?\s*\|\s*(\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[3]);
  }
  return { passed, failed };
}

async function main() {
  if (!existsSync(join(root, 'parser-wasm', 'build', 'release.wasm'))) {
    const build = await run('npm', ['run', '--silent', 'build:wasm'], () => ({}));
    if (build.code !== 0) {
      console.log('0 passed, 1 failed');
      process.exit(1);
    }
  }
  const only = process.argv.slice(2);
  const results = [];
  // Many tests start servers and clients; on a loaded 2-core machine the runner's default of
  // 5 s per test is a flake, not a finding. A test that hangs still fails, after 30 s.
  results.push(await run(bin('bun'), ['test', '--timeout', '30000', ...only], parseBun));
  if (only.length === 0) results.push(await run(bin('deno'), ['task', '--quiet', 'test:deno'], parseDeno));

  let passed = 0, failed = 0, crashed = false;
  for (const r of results) {
    passed += r.passed;
    failed += r.failed;
    // A runner that exited non-zero without reporting a failed test crashed or found no tests.
    if (r.code !== 0 && r.failed === 0) crashed = true;
  }
  if (crashed) failed += 1;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}

main();
