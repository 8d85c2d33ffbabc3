// The transport-independent SASL contract (RFC 4422, profiled for XMPP by RFC 6120 §6).
//
// A `SaslMechanism` is a definition: its name, what the connection must offer for it to be
// usable, and a factory for one authentication attempt. A `SaslExchange` is that attempt:
// the stream layer feeds it the decoded payload of <auth/> and each <response/>, and sends
// back what `step` returns as <challenge/>, <success/> or <failure/>.
//
// Conventions for `step(input)`:
// - `null` means "no data": an <auth/> without initial response. An empty initial response
//   (`=` on the wire) is an empty Uint8Array, which is different.
// - Expected failures (bad password, malformed message) come back as a `failure` step;
//   calling `step` again after success or failure, or while a step is pending, is a
//   programming error and throws.

import type { StoredCredentials } from '../credentials.ts';

/** RFC 6120 §6.5 failure conditions. */
export type SaslFailureCondition =
  | 'aborted'
  | 'account-disabled'
  | 'credentials-expired'
  | 'encryption-required'
  | 'incorrect-encoding'
  | 'invalid-authzid'
  | 'invalid-mechanism'
  | 'malformed-request'
  | 'mechanism-too-weak'
  | 'not-authorized'
  | 'temporary-auth-failure';

export type SaslStep =
  | { kind: 'challenge'; data: Uint8Array }
  | {
    kind: 'success';
    data?: Uint8Array;
    /** SASLprep'd username; the caller applies nodeprep before binding a JID. */
    authcid: string;
    /** Present only when the client sent one; already checked to name authcid's own bare JID (or allowed by `authorize`). */
    authzid?: string;
  }
  | { kind: 'failure'; condition: SaslFailureCondition; text?: string };

export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point' | 'tls-unique';

/** Channel binding data the TLS layer computed for this connection (RFC 5929, RFC 9266). */
export type ChannelBindingData = { [type in ChannelBindingType]?: Uint8Array };

/**
 * The TLS client certificate, present only once it passed verification (see
 * server/auth/cert/verify.ts), with the identities EXTERNAL (XEP-0178) reads from it.
 */
export type PeerCertificate = {
  raw: Uint8Array;
  /** id-on-xmppAddr values of its subjectAltName; absent = none. */
  xmppAddrs?: readonly string[];
  /** The subject's common name, when it has exactly one. */
  commonName?: string;
};

/** What a mechanism may look at to decide whether it can be offered on a connection. */
export type SaslConnectionInfo = {
  /** `undefined` = the connection is not encrypted. On TLS without any binding data: `{}`. */
  channelBinding: ChannelBindingData | undefined;
  peerCertificate?: PeerCertificate;
};

export type SaslContext = SaslConnectionInfo & {
  /** The XMPP domain being authenticated to (the stream's `to`). */
  host: string;
  /** Resolves to undefined for an unknown user; a rejection is reported as temporary-auth-failure. */
  lookupCredentials(username: string): Promise<StoredCredentials | undefined>;
  /** Server-wide secret from which fake salts for unknown users are derived. At least 16 bytes. */
  serverSecret: Uint8Array;
  /**
   * Iteration count of the decoy credentials used for unknown users: the count new accounts
   * get ([auth.password] scram_iterations), or the exchange would tell them apart.
   */
  decoyIterations?: number;
  /**
   * Names offered in <mechanisms/> on this stream. SCRAM uses it for downgrade protection:
   * a client saying "y" (it supports channel binding but believes we don't) while we did
   * offer a -PLUS mechanism means someone stripped it. Missing = nothing offered was -PLUS.
   */
  offeredMechanisms?: readonly string[];
  /**
   * Authorization policy for an authzid other than authcid's own bare JID. Missing = refuse,
   * as security rule 7 requires unless a deployment explicitly configures otherwise.
   */
  authorize?(authcid: string, authzid: string): Promise<boolean>;
  /** Server nonce source; defaults to the CSPRNG. Tests inject fixed values to replay RFC vectors. */
  generateNonce?(): string;
};

export interface SaslExchange {
  step(input: Uint8Array | null): Promise<SaslStep>;
}

export type SaslMechanism = {
  name: string;
  /** Only usable on an encrypted connection (PLAIN by policy, -PLUS by construction). */
  requiresTls: boolean;
  /** Needs channel binding data from the TLS layer (the -PLUS mechanisms). */
  requiresChannelBinding: boolean;
  /** Whether this connection can support the mechanism at all; policy is the registry's job. */
  isAvailable(conn: SaslConnectionInfo): boolean;
  start(ctx: SaslContext): SaslExchange;
};
