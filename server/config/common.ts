// Value shapes shared by several config sections.

import { isIP } from 'node:net';
import { s } from './schema.ts';

// Lower-case LDH labels: hosts are compared as written, so they must already be normalized.
const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const domainName = () => s.string({ pattern: DOMAIN, what: 'a lower-case domain name' });

export const port = () => s.int({ min: 1, max: 65535 });

export const ipAddress = () =>
  s.string({ what: 'an IP address' }).refine('an IP address', (value) => isIP(value) !== 0);

/** Names the operator gives to shapers, ACLs, access rules and pools; usable as bare TOML keys. */
export const NAME = /^[A-Za-z0-9_-]+$/;
export const nameOptions = { keyPattern: NAME, keyWhat: 'a name of letters, digits, "_" or "-"' };

export const name = () => s.string({ pattern: NAME, what: 'a name of letters, digits, "_" or "-"' });

/** Bytes; the smallest limit still fits a stream header and SASL exchange. */
export const stanzaSize = () => s.int({ min: 1024 });

export const urlPath = () => s.string({ pattern: /^\/[A-Za-z0-9._~\/-]*$/, what: 'a URL path starting with "/"' });
