// SASLprep (RFC 4013) for usernames and passwords, as one total function: the library
// throws on prohibited output (and on some inputs that map to nothing), and callers here
// only need to know "usable string or not".
//
// Unassigned code points are refused for queries as well as for stored strings: a login
// that could only match after a future Unicode version would be fragile, and refusing
// keeps creation and verification agreeing exactly.

import saslprep from '@mongodb-js/saslprep';

export function prepareSaslString(input: string): string | undefined {
  if (input.length === 0) return undefined;
  let prepared: string;
  try {
    prepared = saslprep(input);
  } catch {
    return undefined;
  }
  return prepared.length === 0 ? undefined : prepared;
}
