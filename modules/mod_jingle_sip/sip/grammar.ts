// Per-field grammar checks for everything the gateway writes into SIP or SDP. A value that
// came from a Jingle stanza (or from a SIP peer, on its way into XML) passes one of these
// before it is used, so no CR, LF or other control character crosses a format boundary
// (security rule 12) and numbers stay in range.

/** RFC 3261 token: the characters of method names, tags, branch parameters, codec names. */
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** RFC 3261 `word` (Call-ID halves): token characters plus a few separators. */
const WORD = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+$/;
/** The user part of a SIP URI as the gateway emits it: unreserved characters and a leading '+'. */
const URI_USER = /^\+?[A-Za-z0-9\-_.!~*'()&=$,;?/]{1,64}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
/** ICE ufrag/pwd (RFC 8839 ice-char) */
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
/** DTLS fingerprint: hex pairs separated by ':' (RFC 8122). */
const FINGERPRINT = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){15,63}$/;
/** A fmtp/extmap/other attribute value: printable ASCII without CR/LF. */
const SAFE_TEXT = /^[\x20-\x7e]*$/;

export const LIMITS = {
  /** Longest SIP message we accept or write (UDP datagrams above ~1300 bytes fragment anyway). */
  maxMessageBytes: 65_535,
  maxHeaderCount: 100,
  maxHeaderLineBytes: 8_192,
  maxContents: 8,
  maxPayloadTypes: 64,
  maxCandidates: 64,
  maxExtmaps: 32,
  maxSsrcs: 64,
  maxAttrValueBytes: 1024,
} as const;

export const isToken = (s: string): boolean => s.length <= 256 && TOKEN.test(s);
export const isWord = (s: string): boolean => s.length <= 256 && WORD.test(s);
export const isUriUser = (s: string): boolean => URI_USER.test(s);
export const isHost = (s: string): boolean => HOSTNAME.test(s) || IPV4.test(s) || (s.includes(':') && IPV6.test(s));
export const isIp = (s: string): boolean => IPV4.test(s) || (s.includes(':') && IPV6.test(s));
export const isPort = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 65_535;
export const isIceChars = (s: string, min: number, max: number): boolean => s.length >= min && s.length <= max && ICE_CHARS.test(s);
export const isFingerprint = (s: string): boolean => FINGERPRINT.test(s);
export const isSafeText = (s: string, max = LIMITS.maxAttrValueBytes): boolean => s.length <= max && SAFE_TEXT.test(s);

/** Call-ID: word [ "@" word ] (RFC 3261 §25.1). */
export function isCallId(s: string): boolean {
  if (s.length === 0 || s.length > 256) return false;
  const at = s.indexOf('@');
  if (at < 0) return WORD.test(s);
  return WORD.test(s.slice(0, at)) && WORD.test(s.slice(at + 1));
}

/** A non-negative integer written in decimal, within [min, max]. */
export function parseIntIn(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}
