// PLAIN (RFC 4616): message = [authzid] NUL authcid NUL passwd, all UTF-8.
// Parsed strictly — exactly two NULs, non-empty authcid and password — and checked
// against stored SCRAM keys, since no plaintext password is kept.

import { verifyPlainPassword } from '../credentials.ts';
import { prepareSaslString } from '../saslprep.ts';
import { checkServerSecret, decoyCredentials } from './decoy.ts';
import { decodeUtf8Strict } from './encoding.ts';
import { guardedExchange } from './guard.ts';
import { authorizedSuccess } from './identity.ts';
import type { SaslContext, SaslExchange, SaslMechanism, SaslStep } from './types.ts';

// RFC 4616 requires accepting 255 octets per field; three of those plus the separators
// fit well inside this, and anything longer is not a login attempt.
const MAX_MESSAGE_BYTES = 1024;

type PlainMessage = { authzid?: string; authcid: string; password: string };

export function parsePlainMessage(bytes: Uint8Array): PlainMessage | undefined {
  if (bytes.length > MAX_MESSAGE_BYTES) return undefined;
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) return undefined;
  const parts = text.split('\0');
  if (parts.length !== 3) return undefined;
  const [authzid, authcid, password] = parts as [string, string, string];
  if (authcid === '' || password === '') return undefined;
  return authzid === '' ? { authcid, password } : { authzid, authcid, password };
}

const malformed: SaslStep = { kind: 'failure', condition: 'malformed-request' };
const notAuthorized: SaslStep = { kind: 'failure', condition: 'not-authorized' };

async function authenticate(ctx: SaslContext, bytes: Uint8Array): Promise<SaslStep> {
  const message = parsePlainMessage(bytes);
  if (message === undefined) return malformed;
  const username = prepareSaslString(message.authcid);
  const password = prepareSaslString(message.password);
  // Refusing these before the lookup reveals only that the strings are unusable, which
  // holds for every account alike.
  if (username === undefined || password === undefined) return notAuthorized;

  let creds;
  try {
    creds = await ctx.lookupCredentials(username);
  } catch {
    return { kind: 'failure', condition: 'temporary-auth-failure' };
  }
  const known = creds !== undefined && Object.keys(creds).length > 0;
  // Unknown users cost the same PBKDF2 run as known ones (no enumeration by timing).
  const ok = await verifyPlainPassword(known ? creds! : decoyCredentials(ctx.serverSecret, username, ctx.decoyIterations), password);
  if (!known || !ok) return notAuthorized;
  return authorizedSuccess(ctx, username, message.authzid);
}

function startPlain(ctx: SaslContext): SaslExchange {
  checkServerSecret(ctx.serverSecret);
  let challenged = false;
  return guardedExchange(async (input) => {
    if (input === null) {
      // No initial response: ask for the message with an empty challenge, once.
      if (challenged) return malformed;
      challenged = true;
      return { kind: 'challenge', data: new Uint8Array(0) };
    }
    return authenticate(ctx, input);
  });
}

export const plainMechanism: SaslMechanism = {
  name: 'PLAIN',
  // The password crosses the wire; offered in the clear only if configured (see registry).
  requiresTls: true,
  requiresChannelBinding: false,
  isAvailable: () => true,
  start: startPlain,
};
