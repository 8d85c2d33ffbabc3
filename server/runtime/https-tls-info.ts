// What HTTP streams see of a TLS connection terminated by the runtime layer (both runtimes
// terminate HTTPS themselves when a listener asks for client certificates).

import type { TlsInfo } from './types.ts';

/**
 * The peer certificate and its verdict only. No keying material and no local certificate,
 * so no channel binding: a BOSH session spans several TLS connections, and a SCRAM exchange
 * bound to one would not verify on the next.
 *
 * The certificate is read once, now: a BOSH session keeps this and compares it with later
 * requests' after the connection is gone, when a closed socket may no longer tell.
 */
export function httpsTlsInfo(info: TlsInfo): TlsInfo {
  const peer = info.peerCertificate();
  return {
    version: info.version,
    exportKeyingMaterial: () => undefined,
    localCertificate: () => undefined,
    peerCertificate: () => peer,
    peerAuthorized: info.peerAuthorized,
    peerAuthorizationError: info.peerAuthorizationError,
  };
}
