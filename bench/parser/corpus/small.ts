// The small-stanza stream: what a busy c2s connection mostly carries. One-to-one chat
// messages of 150–300 bytes and presence broadcasts with entity capabilities (XEP-0115).

import { Markup, utf8Length } from './markup.ts';
import type { Random } from './random.ts';
import { EMOJI, ENGLISH, fullJid, stanzaId } from './words.ts';

const CAPS_NODES = ['https://conversations.im', 'https://gajim.org', 'https://dino.im', 'http://psi-im.org'];

export function writeSmallStanzas(markup: Markup, random: Random, targetBytes: number): void {
  let written = 0;
  while (written < targetBytes) {
    const stanza = random.chance(0.7) ? chatMessage(markup, random) : capsPresence(markup, random);
    written += stanza;
  }
}

function chatMessage(markup: Markup, random: Random): number {
  const target = random.int(150, 300);
  const attrs = { to: fullJid(random), from: fullJid(random), type: 'chat', id: stanzaId(random) };
  const state = markup.el('active', { xmlns: 'http://jabber.org/protocol/chatstates' });
  // Envelope size with an empty body tells how many bytes the body may take.
  const envelope = utf8Length(`<message to='${attrs.to}' from='${attrs.from}' type='chat' id='${attrs.id}'><body></body>${state}</message>`);
  const body = fillText(random, Math.max(8, target - envelope));
  const xml = markup.el('message', attrs, markup.el('body', {}, markup.text(body)), state);
  markup.stanza(xml, true);
  return utf8Length(xml);
}

function capsPresence(markup: Markup, random: Random): number {
  const hasId = random.chance(0.5);
  const children = [
    markup.el('show', {}, markup.text(random.pick(['away', 'chat', 'dnd', 'xa']))),
    markup.el('status', {}, markup.text(fillText(random, random.int(5, 40)))),
    markup.el('priority', {}, markup.text(String(random.int(-5, 50)))),
    markup.el('c', {
      xmlns: 'http://jabber.org/protocol/caps',
      hash: 'sha-1',
      node: random.pick(CAPS_NODES),
      // Real `ver` strings are base64 SHA-1 digests: 28 characters.
      ver: btoa(String.fromCharCode(...Array.from({ length: 20 }, () => random.int(0, 255)))),
    }),
  ];
  const xml = markup.el('presence', { from: fullJid(random), id: hasId ? stanzaId(random) : undefined }, ...children);
  markup.stanza(xml, hasId);
  return utf8Length(xml);
}

/** Mostly English words with the odd emoji, close to `budget` encoded bytes. */
function fillText(random: Random, budget: number): string {
  let out = '';
  let bytes = 0;
  for (;;) {
    const word = random.chance(0.05) ? random.pick(EMOJI) : random.pick(ENGLISH);
    // `&` and `<` grow by four or three bytes once escaped.
    const cost = utf8Length(word) + (out === '' ? 0 : 1) + (word.includes('&') ? 4 : 0) + (word.includes('<') ? 3 : 0);
    if (bytes + cost > budget && out !== '') return out;
    out += out === '' ? word : ' ' + word;
    bytes += cost;
  }
}
