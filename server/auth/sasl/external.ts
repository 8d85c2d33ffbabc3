// EXTERNAL (RFC 4422 appendix A) with TLS client certificates, as XEP-0178 profiles it.
//
// The certificate was verified when TLS ended (server/auth/cert/verify.ts); the mechanism
// is offered only then. The client's one message is its authzid: empty ("=" on the wire)
// or the bare JID it wants to be. Who it may be comes from the certificate, by the
// methods of `[auth] sasl_external`, tried in the configured order:
// - standard: the certificate's id-on-xmppAddr values for this domain. Exactly one and no
//   authzid: that JID. Several and no authzid: invalid-authzid (the client must choose).
//   An authzid: accepted only if it is one of them, else not-authorized.
// - common_name: a certificate without xmppAddr whose CN (between the configured prefix
//   and suffix) is the username. An authzid naming someone else: invalid-authzid.
// - auth_id: a certificate without xmppAddr; the identity is the authzid (this domain only).
//   Anyone holding a certificate from the CA may then log in as any existing user: only
//   for CAs that issue certificates to trusted systems.
// A method that does not apply to the certificate leaves the decision to the next one. The
// account must exist, unless configured otherwise.

import { tryParseJid, type Jid } from '../../jid.ts';
import { decodeUtf8Strict } from './encoding.ts';
import { guardedExchange } from './guard.ts';
import type { PeerCertificate, SaslContext, SaslExchange, SaslFailureCondition, SaslMechanism, SaslStep } from './types.ts';

export const EXTERNAL_IDENTITY_METHODS = ['standard', 'common_name', 'auth_id'] as const;
export type ExternalIdentityMethod = (typeof EXTERNAL_IDENTITY_METHODS)[number];

export interface ExternalOptions {
  /** How the identity is taken from the certificate, in order of preference. */
  readonly methods: readonly ExternalIdentityMethod[];
  /** common_name: the CN must start with this; the rest is the username. */
  readonly commonNamePrefix?: string;
  /** common_name: the CN must end with this; what precedes it is the username. */
  readonly commonNameSuffix?: string;
  /** Refuse identities that have no account in storage (default true). */
  readonly requireExistingUser?: boolean;
}

// An authzid is one bare JID: 3071 bytes is the longest a JID can be (RFC 7622 §3.1).
const MAX_MESSAGE_BYTES = 3071;

type Decision = { ok: true; local: string } | { ok: false; condition: SaslFailureCondition; text?: string };

const fail = (condition: SaslFailureCondition, text?: string): Decision => ({ ok: false, condition, text });

/** The certificate's xmppAddrs that are bare JIDs of `host`, without duplicates. */
function xmppAddrsFor(cert: PeerCertificate, host: string): Jid[] {
  const found = new Map<string, Jid>();
  for (const addr of cert.xmppAddrs ?? []) {
    const jid = tryParseJid(addr);
    if (jid === undefined || jid.local === '' || !jid.isBare || jid.domain !== host) continue;
    found.set(jid.toString(), jid);
  }
  return [...found.values()];
}

function standard(cert: PeerCertificate, host: string, requested: Jid | undefined): Decision | undefined {
  if ((cert.xmppAddrs ?? []).length === 0) return undefined;
  const candidates = xmppAddrsFor(cert, host);
  if (candidates.length === 0) return fail('not-authorized', 'the certificate names no address of this domain');
  if (requested !== undefined) {
    return candidates.some((j) => j.equals(requested)) ? { ok: true, local: requested.local } : fail('not-authorized', 'the certificate does not name that address');
  }
  if (candidates.length > 1) return fail('invalid-authzid', 'the certificate names several addresses: choose one as authzid');
  return { ok: true, local: candidates[0]!.local };
}

function commonName(cert: PeerCertificate, host: string, requested: Jid | undefined, o: ExternalOptions): Decision | undefined {
  const cn = cert.commonName;
  if ((cert.xmppAddrs ?? []).length > 0 || cn === undefined) return undefined;
  const prefix = o.commonNamePrefix ?? '';
  const suffix = o.commonNameSuffix ?? '';
  if (cn.length <= prefix.length + suffix.length || !cn.startsWith(prefix) || !cn.endsWith(suffix)) return undefined;
  const jid = tryParseJid(`${cn.slice(prefix.length, cn.length - suffix.length)}@${host}`);
  if (jid === undefined || jid.local === '' || !jid.isBare || jid.domain !== host) return undefined;
  if (requested !== undefined && !requested.equals(jid)) return fail('invalid-authzid', 'the authzid does not match the certificate');
  return { ok: true, local: jid.local };
}

function authId(cert: PeerCertificate, requested: Jid | undefined): Decision | undefined {
  if ((cert.xmppAddrs ?? []).length > 0 || requested === undefined) return undefined;
  return { ok: true, local: requested.local };
}

function decide(cert: PeerCertificate, host: string, requested: Jid | undefined, o: ExternalOptions): Decision {
  for (const method of o.methods) {
    const decision =
      method === 'standard' ? standard(cert, host, requested)
      : method === 'common_name' ? commonName(cert, host, requested, o)
      : authId(cert, requested);
    if (decision !== undefined) return decision;
  }
  return fail('not-authorized', 'the certificate does not identify an account');
}

async function authenticate(ctx: SaslContext, o: ExternalOptions, bytes: Uint8Array): Promise<SaslStep> {
  const cert = ctx.peerCertificate;
  if (cert === undefined) return { kind: 'failure', condition: 'not-authorized' };
  if (bytes.length > MAX_MESSAGE_BYTES) return { kind: 'failure', condition: 'malformed-request' };
  const text = decodeUtf8Strict(bytes);
  if (text === undefined || text.includes('\0')) return { kind: 'failure', condition: 'malformed-request' };

  const hostJid = tryParseJid(ctx.host);
  if (hostJid === undefined) return { kind: 'failure', condition: 'not-authorized' };
  const host = hostJid.domain;
  let requested: Jid | undefined;
  if (text !== '') {
    requested = tryParseJid(text);
    if (requested === undefined || requested.local === '' || !requested.isBare || requested.domain !== host) {
      return { kind: 'failure', condition: 'invalid-authzid', text: 'the authzid must be a bare JID of this domain' };
    }
  }

  const decision = decide(cert, host, requested, o);
  if (!decision.ok) return { kind: 'failure', condition: decision.condition, text: decision.text };

  if (o.requireExistingUser ?? true) {
    let creds;
    try {
      creds = await ctx.lookupCredentials(decision.local);
    } catch {
      return { kind: 'failure', condition: 'temporary-auth-failure' };
    }
    if (creds === undefined) return { kind: 'failure', condition: 'not-authorized' };
  }
  return requested === undefined
    ? { kind: 'success', authcid: decision.local }
    : { kind: 'success', authcid: decision.local, authzid: requested.toString() };
}

export function createExternalMechanism(options: ExternalOptions): SaslMechanism {
  if (options.methods.length === 0) throw new RangeError('sasl_external: at least one method is needed');
  const start = (ctx: SaslContext): SaslExchange => {
    let challenged = false;
    return guardedExchange(async (input) => {
      if (input === null) {
        // No initial response: ask for the authzid with an empty challenge, once.
        if (challenged) return { kind: 'failure', condition: 'malformed-request' };
        challenged = true;
        return { kind: 'challenge', data: new Uint8Array(0) };
      }
      return authenticate(ctx, options, input);
    });
  };
  return {
    name: 'EXTERNAL',
    requiresTls: true,
    requiresChannelBinding: false,
    // Present only when the TLS client certificate passed verification.
    isAvailable: (conn) => conn.peerCertificate !== undefined,
    start,
  };
}

/** EXTERNAL with XEP-0178's standard identity rules only. */
export const externalMechanism: SaslMechanism = createExternalMechanism({ methods: ['standard'] });
