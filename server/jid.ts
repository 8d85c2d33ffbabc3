// XMPP addresses (RFC 7622): [localpart@]domainpart[/resourcepart].
//
// Two entry points, because JIDs arrive from two kinds of caller:
//   tryParseJid(s) → Jid | undefined   for stanza attributes on the hot path (no exceptions)
//   parseJid(s)    → Jid, throws JidError naming the part that failed (config, admin, tests)
// Both normalize: localpart by PRECIS UsernameCaseMapped, resourcepart by OpaqueString,
// domainpart lowercased, NFC, A-labels turned into U-labels, one trailing dot removed.
// An absent part is the empty string (an empty part is never valid, so '' is unambiguous).
//
// Parsed JIDs are cached by their input text in a bounded map: the same few thousand
// addresses appear in stanza after stanza, and a cached Jid also carries its string and
// bare form, so equality is usually one pointer or one string comparison.

import { domainToASCII, domainToUnicode } from 'node:url';
import { opaqueString, PrecisFailure, usernameCaseMapped, utf8Length } from './jid/precis.ts';

export type JidPart = 'local' | 'domain' | 'resource' | 'jid';

/** Thrown by parseJid/makeJid: which part failed and why. */
export class JidError extends Error {
  constructor(readonly part: JidPart, readonly reason: string, readonly input: string) {
    super(`invalid JID ${part === 'jid' ? '' : part + 'part '}(${reason})`);
    this.name = 'JidError';
  }
}

export class Jid {
  readonly local: string;
  readonly domain: string;
  readonly resource: string;
  private str: string | undefined;
  private bareJid: Jid | undefined;

  /** Parts must already be normalized; use parseJid/makeJid to build a Jid from user input. */
  constructor(local: string, domain: string, resource: string) {
    this.local = local;
    this.domain = domain;
    this.resource = resource;
  }

  get isBare(): boolean {
    return this.resource === '';
  }

  /** True for a domain-only address (a server or component). */
  get isDomain(): boolean {
    return this.local === '' && this.resource === '';
  }

  /** localpart@domainpart (or the domain alone); the same object when already bare. */
  bare(): Jid {
    if (this.resource === '') return this;
    return (this.bareJid ??= new Jid(this.local, this.domain, ''));
  }

  /** The same address with another resource (validated). */
  withResource(resource: string): Jid {
    return makeJid(this.local, this.domain, resource);
  }

  equals(other: Jid | undefined): boolean {
    return other !== undefined && (this === other || this.toString() === other.toString());
  }

  toString(): string {
    if (this.str === undefined) {
      let s = this.local === '' ? this.domain : this.local + '@' + this.domain;
      if (this.resource !== '') s += '/' + this.resource;
      this.str = s;
    }
    return this.str;
  }

  toJSON(): string {
    return this.toString();
  }
}

const MAX_PART_BYTES = 1023;
// Three parts of at most 1023 bytes plus two separators; longer input fails before any
// normalization work is spent on it.
const MAX_INPUT_CHARS = 3 * MAX_PART_BYTES + 2;

class Failure {
  constructor(readonly part: JidPart, readonly reason: string) {}
}

// Characters RFC 7622 §3.3.1 excludes from localparts on top of the PRECIS class.
const LOCAL_FORBIDDEN = /["&'/:<>@]/;

function prepareLocal(s: string): string | Failure {
  if (s.length === 0) return new Failure('local', 'empty');
  const out = usernameCaseMapped(s);
  if (out instanceof PrecisFailure) return new Failure('local', out.reason);
  if (LOCAL_FORBIDDEN.test(out)) return new Failure('local', 'contains one of " & \' / : < > @');
  if (utf8Length(out) > MAX_PART_BYTES) return new Failure('local', 'longer than 1023 bytes');
  return out;
}

function prepareResource(s: string): string | Failure {
  if (s.length === 0) return new Failure('resource', 'empty');
  const out = opaqueString(s);
  if (out instanceof PrecisFailure) return new Failure('resource', out.reason);
  if (utf8Length(out) > MAX_PART_BYTES) return new Failure('resource', 'longer than 1023 bytes');
  return out;
}

const ASCII_DOMAIN = /^[\x21-\x7e]+$/;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const IDEOGRAPHIC_DOTS = /[\u3002\uff0e\uff61]/g;

function prepareDomain(input: string): string | Failure {
  if (input.length === 0) return new Failure('domain', 'empty');
  if (input.charCodeAt(0) === 0x5b) return prepareIpv6Literal(input);
  // RFC 7622 §3.2: a final label separator is removed before anything else.
  let s = input.replace(IDEOGRAPHIC_DOTS, '.');
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length === 0) return new Failure('domain', 'empty');
  if (ASCII_DOMAIN.test(s)) {
    s = s.toLowerCase();
    const v4 = IPV4.exec(s);
    if (v4) {
      for (let i = 1; i <= 4; i++) if (Number(v4[i]) > 255) return new Failure('domain', 'IPv4 octet above 255');
      return s;
    }
    const failure = checkLabels(s);
    if (failure) return failure;
    // A-labels are compared as U-labels (RFC 7622 §3.2.2).
    if (s.includes('xn--')) return fromALabels(s);
    return s;
  }
  const ascii = domainToASCII(s.toLowerCase().normalize('NFC'));
  if (ascii === '') return new Failure('domain', 'not a valid internationalized domain name');
  const failure = checkLabels(ascii);
  if (failure) return failure;
  return fromALabels(ascii);
}

function checkLabels(ascii: string): Failure | undefined {
  let start = 0;
  while (start <= ascii.length) {
    let end = ascii.indexOf('.', start);
    if (end < 0) end = ascii.length;
    const label = ascii.slice(start, end);
    if (label.length === 0) return new Failure('domain', 'empty label');
    if (label.length > 63) return new Failure('domain', 'label longer than 63 bytes');
    if (!LDH_LABEL.test(label)) return new Failure('domain', 'label is not letters, digits and inner hyphens');
    start = end + 1;
  }
  if (ascii.length > MAX_PART_BYTES) return new Failure('domain', 'longer than 1023 bytes');
  return undefined;
}

function fromALabels(ascii: string): string | Failure {
  const unicode = domainToUnicode(ascii);
  // A malformed A-label does not round-trip; refuse it rather than keep two spellings.
  if (unicode === '' || domainToASCII(unicode) !== ascii) return new Failure('domain', 'malformed A-label');
  if (utf8Length(unicode) > MAX_PART_BYTES) return new Failure('domain', 'longer than 1023 bytes');
  return unicode;
}

const IPV6_BODY = /^[0-9a-f:.]+$/;

function prepareIpv6Literal(s: string): string | Failure {
  if (!s.endsWith(']')) return new Failure('domain', 'unterminated IPv6 literal');
  const body = s.slice(1, -1).toLowerCase();
  if (!IPV6_BODY.test(body) || !isIpv6(body)) return new Failure('domain', 'invalid IPv6 literal');
  return '[' + body + ']';
}

function isIpv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const all = head.concat(tail);
  let units = 0;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    if (i === all.length - 1 && g.includes('.')) {
      const v4 = IPV4.exec(g);
      if (!v4 || [v4[1], v4[2], v4[3], v4[4]].some((o) => Number(o) > 255)) return false;
      units += 2;
    } else {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return false;
      units += 1;
    }
  }
  return halves.length === 2 ? units < 8 : units === 8;
}

function parse(s: string): Jid | Failure {
  if (s.length > MAX_INPUT_CHARS) return new Failure('jid', 'too long');
  // RFC 7622 §3.1: the resourcepart starts at the first '/', the localpart ends at the first
  // '@' before it; a resourcepart may itself contain '@' and '/'.
  const slash = s.indexOf('/');
  const head = slash < 0 ? s : s.slice(0, slash);
  const at = head.indexOf('@');
  let local = '';
  if (at >= 0) {
    const l = prepareLocal(head.slice(0, at));
    if (l instanceof Failure) return l;
    local = l;
  }
  const domain = prepareDomain(at < 0 ? head : head.slice(at + 1));
  if (domain instanceof Failure) return domain;
  let resource = '';
  if (slash >= 0) {
    const r = prepareResource(s.slice(slash + 1));
    if (r instanceof Failure) return r;
    resource = r;
  }
  return new Jid(local, domain, resource);
}

// Two generations of at most CACHE_GENERATION entries each: when the young one fills up it
// becomes the old one and the previous old one is dropped whole. Evicting single entries
// from one Map (delete the first key) leaves tombstones that make every later eviction walk
// them, which costs more than parsing.
const CACHE_GENERATION = 8192;
// Only ordinary-length addresses are cached, so the cache stays a few megabytes even when a
// peer sends thousands of distinct maximum-length JIDs.
const CACHE_MAX_KEY = 256;
let young = new Map<string, Jid>();
let old = new Map<string, Jid>();

function remember(s: string, jid: Jid): void {
  if (young.size >= CACHE_GENERATION) {
    old = young;
    young = new Map();
  }
  young.set(s, jid);
}

function cached(s: string): Jid | Failure {
  const hit = young.get(s);
  if (hit !== undefined) return hit;
  const older = old.get(s);
  if (older !== undefined) {
    remember(s, older);
    return older;
  }
  const result = parse(s);
  if (result instanceof Jid && s.length <= CACHE_MAX_KEY) remember(s, result);
  return result;
}

/** Parses and normalizes; undefined when the text is not a valid JID. */
export function tryParseJid(s: string): Jid | undefined {
  const r = cached(s);
  return r instanceof Jid ? r : undefined;
}

/** Parses and normalizes; throws JidError naming the failed part. */
export function parseJid(s: string): Jid {
  const r = cached(s);
  if (r instanceof Failure) throw new JidError(r.part, r.reason, s);
  return r;
}

/** Builds a JID from separate parts (each normalized); '' means absent. Throws JidError. */
export function makeJid(local: string, domain: string, resource = ''): Jid {
  const l = local === '' ? '' : prepareLocal(local);
  if (l instanceof Failure) throw new JidError(l.part, l.reason, local);
  const d = prepareDomain(domain);
  if (d instanceof Failure) throw new JidError(d.part, d.reason, domain);
  const r = resource === '' ? '' : prepareResource(resource);
  if (r instanceof Failure) throw new JidError(r.part, r.reason, resource);
  return new Jid(l, d, r);
}

/** For tests and memory accounting. */
export function jidCacheSize(): number {
  return young.size + old.size;
}
