// A BOSH session spans several HTTP requests, each possibly on its own TLS connection.
// The client certificate that came with the session's first request is bound to the
// session (its stream verified it, and SASL EXTERNAL may have used it): every later
// request must come with the very same certificate, or none when the first had none.
// Otherwise a second party holding the SID could ride on someone else's certificate login.

import type { TlsInfo } from '../runtime/types.ts';

export function sameClientCertificate(bound: TlsInfo | undefined, now: TlsInfo | undefined): boolean {
  const a = bound?.peerCertificate();
  const b = now?.peerCertificate();
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
