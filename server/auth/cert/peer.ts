// The verified client certificate of one TLS connection, as SASL sees it. Verification
// runs once per connection (the stream asks when it writes features and again when
// EXTERNAL starts), and a refusal is logged once with its reason.

import type { PeerCertificate } from '../sasl/types.ts';
import type { TlsInfo } from '../../runtime/types.ts';
import type { Logger } from '../../log.ts';
import type { ClientCertificateVerifier } from './verify.ts';

const verdicts = new WeakMap<TlsInfo, PeerCertificate | null>();

export function verifiedPeerCertificate(
  verifier: ClientCertificateVerifier | undefined,
  tls: TlsInfo | undefined,
  log?: Logger,
): PeerCertificate | undefined {
  if (verifier === undefined || !verifier.requestsCertificates || tls === undefined) return undefined;
  const known = verdicts.get(tls);
  if (known !== undefined) return known ?? undefined;
  const der = tls.peerCertificate();
  let result: PeerCertificate | null = null;
  if (der !== undefined) {
    const verdict = verifier.verify({ der, tlsAuthorized: tls.peerAuthorized });
    if (verdict.ok) {
      const { raw, xmppAddrs, commonName } = verdict.certificate;
      result = commonName === undefined ? { raw, xmppAddrs } : { raw, xmppAddrs, commonName };
    } else {
      log?.info('client_certificate_refused', { reason: verdict.reason, tls_error: tls.peerAuthorizationError });
    }
  }
  verdicts.set(tls, result);
  return result ?? undefined;
}
