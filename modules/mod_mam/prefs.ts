// Archiving preferences (XEP-0313 §6): a default mode and two lists of bare JIDs.

import { NS_MAM } from '../../server/ns.ts';
import { StanzaError } from '../../server/errors.ts';
import { tryParseJid } from '../../server/jid.ts';
import { xml, type Element } from '../../server/xml/element.ts';
import type { ArchiveMode, ArchivePrefs } from '../../server/storage/mam.ts';

const MODES: ReadonlySet<string> = new Set(['always', 'never', 'roster']);
/** Bound on each list: preferences are read on the routing path. */
export const MAX_PREF_JIDS = 1000;

/**
 * Whether a message with `other` goes into the archive. A JID on the never list stays out
 * even if it is on the always list too (the safer reading of a contradictory request).
 */
export function shouldArchive(prefs: ArchivePrefs, other: string, inRoster: () => boolean): boolean {
  if (prefs.never.includes(other)) return false;
  if (prefs.always.includes(other)) return true;
  if (prefs.defaultMode === 'always') return true;
  if (prefs.defaultMode === 'never') return false;
  return inRoster();
}

export function renderPrefs(prefs: ArchivePrefs): Element {
  const list = (name: string, jids: readonly string[]) => xml(name, null, ...jids.map((j) => xml('jid', null, j)));
  return xml('prefs', { xmlns: NS_MAM, default: prefs.defaultMode }, list('always', prefs.always), list('never', prefs.never));
}

export function parsePrefs(el: Element): ArchivePrefs | StanzaError {
  const mode = el.attrs.default;
  if (mode === undefined || !MODES.has(mode)) return new StanzaError('bad-request', { text: 'default must be always, never or roster' });
  const jids = (name: string): string[] | StanzaError => {
    const out: string[] = [];
    for (const j of el.getChild(name)?.getChildren('jid') ?? []) {
      const jid = tryParseJid(j.text.trim());
      if (jid === undefined) return new StanzaError('jid-malformed', { text: `not a JID: ${j.text}` });
      const bare = jid.bare().toString();
      if (!out.includes(bare)) out.push(bare);
    }
    if (out.length > MAX_PREF_JIDS) return new StanzaError('policy-violation', { text: `at most ${MAX_PREF_JIDS} JIDs per list` });
    return out;
  };
  const always = jids('always');
  if (always instanceof StanzaError) return always;
  const never = jids('never');
  if (never instanceof StanzaError) return never;
  return { defaultMode: mode as ArchiveMode, always, never };
}
