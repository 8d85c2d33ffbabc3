// Stanzas typed by an administrator (send raw stanza) go through the same strict tokenizer
// as every other entry point (security rule 1): document mode, default limits, exactly one
// element, and it must be a message, presence or iq in jabber:client (or no namespace).

import { XmlStream } from '../../parser-wasm/host/stream.ts';
import type { Element } from '../xml/element.ts';
import { NS_CLIENT } from '../ns.ts';

export type StanzaInput = { ok: true; element: Element } | { ok: false; message: string };

const STANZAS = new Set(['message', 'presence', 'iq']);

export function parseOneStanza(text: string): StanzaInput {
  const elements: Element[] = [];
  let error: string | undefined;
  let extra = false;
  const xml = new XmlStream({
    onStreamOpen: () => { error ??= 'expected one stanza, not a stream'; },
    onStanza: (view) => {
      if (elements.length > 0) {
        extra = true;
        return;
      }
      if (!STANZAS.has(view.local) || (view.ns !== '' && view.ns !== NS_CLIENT)) {
        error ??= `expected a message, presence or iq stanza, got <${view.name}/>`;
        return;
      }
      elements.push(view.toElement());
    },
    onStreamClose: () => { error ??= 'expected one stanza, not a stream'; },
    onError: (e) => { error ??= `not accepted by the XML tokenizer: ${e.message} (${e.condition})`; },
  }, { mode: 'document' });
  try {
    xml.feed(new TextEncoder().encode(text));
    if (error === undefined) xml.finish();
  } finally {
    xml.free();
  }
  if (error !== undefined) return { ok: false, message: error };
  if (extra) return { ok: false, message: 'expected exactly one stanza, got more' };
  const element = elements[0];
  if (element === undefined) return { ok: false, message: 'expected one stanza, got none' };
  return { ok: true, element };
}
