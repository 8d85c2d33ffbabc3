// Turns measurements into the results table (terminal and RESULTS.md) and the verdict on
// Meerkat's targets. Speeds are compared only as ratios within one run: the machine is
// shared and noisy, so absolute numbers from different runs do not compare.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { MODE_LABEL, MODES, type Mode } from './adapter.ts';
import type { Corpus } from './corpus/index.ts';
import type { Measurement } from './measure.ts';

/** Rows that are not peers: Meerkat itself and the native C baseline. */
export const NATIVE = 'libexpat (C)';
const isMeerkat = (m: Measurement): boolean => m.parser.startsWith('meerkat');
const isPeer = (m: Measurement): boolean => !isMeerkat(m) && m.parser !== NATIVE;

export const mbPerSecond = (m: Measurement): number => m.bytes / (m.bestNs / 1e9) / 1e6;
const stanzasPerSecond = (m: Measurement): number => m.stanzas / (m.bestNs / 1e9);

function fastest(rows: Measurement[], filter: (m: Measurement) => boolean): Measurement | undefined {
  return rows.filter(filter).sort((a, b) => a.bestNs - b.bestNs)[0];
}

function rowsFor(all: Measurement[], corpus: string, mode: Mode): Measurement[] {
  return all.filter((m) => m.corpus === corpus && m.mode === mode).sort((a, b) => a.bestNs - b.bestNs);
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function tables(all: Measurement[], corpora: Corpus[]): string {
  const out: string[] = [];
  for (const corpus of corpora) {
    for (const mode of MODES) {
      const rows = rowsFor(all, corpus.kind, mode);
      if (rows.length === 0) continue;
      const best = fastest(rows, isPeer);
      out.push(`### ${corpus.kind} stream — ${MODE_LABEL[mode]}`, '');
      out.push('| parser | runtime | MB/s | stanzas/s | × fastest peer | note |', '|---|---|---:|---:|---:|---|');
      for (const m of rows) {
        const ratio = best ? fmt(best.bestNs / m.bestNs, 2) + '×' : '–';
        const name = m === best ? `**${m.parser}** (fastest peer)` : m.parser;
        out.push(`| ${name} | ${m.runtime} | ${fmt(mbPerSecond(m), 1)} | ${fmt(stanzasPerSecond(m))} | ${ratio} | ${m.note ?? ''} |`);
      }
      out.push('');
    }
  }
  return out.join('\n');
}

export function targets(all: Measurement[]): string {
  const out: string[] = ['### Meerkat against its targets (small-stanza stream, chunked input, same run)', ''];
  for (const mode of MODES) {
    const rows = rowsFor(all, 'small', mode);
    const meerkat = rows.find((m) => m.parser === 'meerkat');
    const peer = fastest(rows, isPeer);
    const native = rows.find((m) => m.parser === NATIVE);
    if (!meerkat) {
      out.push(`- ${MODE_LABEL[mode]}: Meerkat not measured.`);
      continue;
    }
    const mb = mbPerSecond(meerkat);
    const parts = [`${fmt(mb, 1)} MB/s (target ≥ 300 MB/s: ${verdict(mb, 300)})`];
    if (peer) parts.push(`${fmt(peer.bestNs / meerkat.bestNs, 2)}× ${peer.parser} (target ≥ 2×: ${verdict(peer.bestNs / meerkat.bestNs, 2)})`);
    if (native) parts.push(`${fmt(native.bestNs / meerkat.bestNs, 2)}× libexpat (target ≥ 1.5×: ${verdict(native.bestNs / meerkat.bestNs, 1.5)})`);
    out.push(`- ${MODE_LABEL[mode]}: ${parts.join('; ')}`);
  }
  return out.join('\n') + '\n';
}

function verdict(value: number, target: number): string {
  return value >= target ? 'met' : `not met, needs ${fmt((target / value - 1) * 100, 0)}% more speed`;
}

export function corpusSummary(corpora: Corpus[]): string {
  return corpora.map((c) => {
    const mean = c.bytes.length / c.chunks.length;
    return `- ${c.kind}: ${fmt(c.bytes.length)} bytes, ${fmt(c.expected.stanzas)} stanzas (${fmt(c.expected.stanzaBytes / c.expected.stanzas)} B mean), `
      + `${fmt(c.chunks.length)} chunks of 1–4096 B (mean ${fmt(mean)} B), ${fmt(c.midCharacterSplits)} chunk boundaries inside a UTF-8 character`;
  }).join('\n');
}

const NOTES_START = '<!-- parser-notes: written by hand, kept when the section is regenerated -->';
const NOTES_END = '<!-- /parser-notes -->';

/**
 * Replaces the "## Parser" section of RESULTS.md (up to the next "## "), or appends it.
 * A hand-written notes block inside the old section is carried over to the new one.
 */
export function writeResultsSection(path: string, section: string): void {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmark results\n';
  const start = current.search(/^## Parser[ \t]*$/m);
  if (start < 0) {
    writeFileSync(path, current.trimEnd() + '\n\n' + section.trimEnd() + '\n');
    return;
  }
  const after = current.slice(start + '## Parser'.length);
  const end = after.search(/^## /m);
  const old = end < 0 ? after : after.slice(0, end);
  const rest = end < 0 ? '' : '\n' + after.slice(end);
  const notesAt = old.indexOf(NOTES_START);
  const notesEnd = old.indexOf(NOTES_END);
  const notes = notesAt >= 0 && notesEnd > notesAt ? '\n' + old.slice(notesAt, notesEnd + NOTES_END.length) + '\n' : '';
  writeFileSync(path, current.slice(0, start) + section.trimEnd() + '\n' + notes + rest);
}
