// Authorization identity check shared by every mechanism (security rule 7): the client may
// name an authzid only if it is its own bare JID, unless the context's policy allows more.

import type { SaslContext, SaslStep } from './types.ts';

// Only ASCII letters are folded. Nodeprep case-folds far more, but every pair this
// accepts is also equal after nodeprep/nameprep, so nothing foreign slips through; a
// non-ASCII case variant is refused, which costs at worst a retry without authzid.
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function isOwnBareJid(authcid: string, authzid: string, host: string): boolean {
  return asciiLower(authzid) === asciiLower(`${authcid}@${host}`);
}

export async function authorizedSuccess(
  ctx: SaslContext,
  authcid: string,
  authzid: string | undefined,
  data?: Uint8Array,
): Promise<SaslStep> {
  const success: SaslStep = data === undefined ? { kind: 'success', authcid } : { kind: 'success', data, authcid };
  if (authzid === undefined) return success;
  if (isOwnBareJid(authcid, authzid, ctx.host)) return { ...success, authzid };
  if (ctx.authorize !== undefined) {
    let allowed: boolean;
    try {
      allowed = await ctx.authorize(authcid, authzid);
    } catch {
      return { kind: 'failure', condition: 'temporary-auth-failure' };
    }
    if (allowed) return { ...success, authzid };
  }
  return { kind: 'failure', condition: 'invalid-authzid' };
}
