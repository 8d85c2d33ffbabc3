// Credentials of the admin listener: HTTP Basic (one username and password) and bearer
// tokens, compared in constant time (security rule 8). A request with no or wrong
// credentials gets 401 and nothing else.

import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../auth/constant-time.ts';

export interface AdminCredentials {
  readonly basic?: { readonly username: string; readonly password: string };
  readonly tokens: readonly string[];
}

// Comparing fixed-size digests keeps the comparison's time independent of lengths too.
const digest = (text: string): Uint8Array => new Uint8Array(createHash('sha256').update(text, 'utf8').digest());

export class CredentialCheck {
  private readonly basic: Uint8Array | undefined;
  private readonly tokens: Uint8Array[];

  constructor(readonly credentials: AdminCredentials) {
    const b = credentials.basic;
    this.basic = b === undefined ? undefined : digest(`${b.username}:${b.password}`);
    this.tokens = credentials.tokens.map(digest);
  }

  get offersBasic(): boolean {
    return this.basic !== undefined;
  }

  /** Whether an Authorization header value grants access. */
  accepts(header: string | null | undefined): boolean {
    if (!header) return false;
    const space = header.indexOf(' ');
    if (space < 0) return false;
    const scheme = header.slice(0, space).toLowerCase();
    const value = header.slice(space + 1).trim();
    if (scheme === 'bearer') {
      const given = digest(value);
      let ok = false;
      // Every token is compared, so timing does not tell which one matched.
      for (const t of this.tokens) ok = constantTimeEqual(given, t) || ok;
      return ok;
    }
    if (scheme === 'basic' && this.basic !== undefined) {
      let decoded: string;
      try {
        decoded = Buffer.from(value, 'base64').toString('utf8');
      } catch {
        return false;
      }
      return constantTimeEqual(digest(decoded), this.basic);
    }
    return false;
  }
}
