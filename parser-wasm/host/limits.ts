// Default tokenizer limits. Checked while tokenizing, the moment one is crossed.

import type { ParserLimits } from './types.ts';

/** After authentication. A stanza may be large (vCards, pubsub items), but not unbounded. */
export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxStanzaBytes: 262144,
  maxStartTagBytes: 16384,
  maxAttributes: 64,
  maxDepth: 64,
  maxElementsPerStanza: 8192,
  maxNameLength: 1024,
});

/** Before authentication only stream negotiation happens: STARTTLS, SASL, small stanzas. */
export const PREAUTH_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxStanzaBytes: 16384,
  maxStartTagBytes: 4096,
  maxAttributes: 16,
  maxDepth: 8,
  maxElementsPerStanza: 64,
  maxNameLength: 256,
});
