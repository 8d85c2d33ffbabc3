// Which browser origins may use the BOSH and WebSocket endpoints. A request without an
// Origin header comes from a non-browser client and is allowed; a same-origin page is
// always allowed; any other origin must be listed ("*" lists every origin).

export interface OriginPolicy {
  /** Allowed origins as `scheme://host[:port]`, or "*". Empty: same-origin pages only. */
  readonly allowed: readonly string[];
}

export type OriginVerdict =
  | { kind: 'none' }                   // no Origin header: not a browser, no CORS headers
  | { kind: 'same-origin' }
  | { kind: 'allowed'; origin: string } // echo this origin in Access-Control-Allow-Origin
  | { kind: 'refused'; origin: string };

export function checkOrigin(policy: OriginPolicy, headers: Headers): OriginVerdict {
  const origin = headers.get('origin');
  if (origin === null) return { kind: 'none' };
  if (isSameOrigin(origin, headers)) return { kind: 'same-origin' };
  if (policy.allowed.includes('*') || policy.allowed.includes(origin)) return { kind: 'allowed', origin };
  return { kind: 'refused', origin };
}

// A reverse proxy in front of us may rewrite Host; it then passes the original one in
// X-Forwarded-Host. A cross-origin page cannot set that header without a preflight we refuse.
function isSameOrigin(origin: string, headers: Headers): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const forwarded = headers.get('x-forwarded-host');
  if (forwarded !== null && forwarded.split(',')[0]!.trim() === host) return true;
  return headers.get('host') === host;
}

/** Headers for an actual (non-preflight) response. */
export function corsHeaders(verdict: OriginVerdict): Record<string, string> {
  if (verdict.kind !== 'allowed') return {};
  return { 'Access-Control-Allow-Origin': verdict.origin, Vary: 'Origin' };
}
