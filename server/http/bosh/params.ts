// Session-creation parameters (XEP-0124 §7.1, XEP-0206 §2): what the client asked for,
// clamped to what we allow, in the form the response reports them.

import type { StreamHeader } from '../../../parser-wasm/host/types.ts';
import { NS_XBOSH } from '../../ns.ts';
import type { BoshOptions } from '../options.ts';

/** The largest rid XEP-0124 §14.1 allows (2^53 - 1): rids stay exact as JavaScript numbers. */
export const MAX_RID = Number.MAX_SAFE_INTEGER;

/** Protocol version we speak; a client asking for less gets its own. */
const OUR_VERSION = [1, 11] as const;

export interface SessionParams {
  rid: number;
  waitMs: number;
  hold: number;
  requests: number;
  inactivityMs: number;
  pollingMs: number;
  maxPauseMs: number;
  ver: string;
  /** The client asked for acknowledgements (`ack='1'`). */
  acks: boolean;
  to: string | undefined;
  lang: string | undefined;
  xmppVersion: string | undefined;
  from: string | undefined;
}

export type ParamsCheck = { ok: true; params: SessionParams } | { ok: false; text: string };

const UNSIGNED = /^[0-9]{1,16}$/;

export function parseRid(value: string | undefined): number | undefined {
  if (value === undefined || !UNSIGNED.test(value)) return undefined;
  const rid = Number(value);
  return rid >= 1 && rid <= MAX_RID ? rid : undefined;
}

function parseCount(value: string | undefined): number | undefined | 'invalid' {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(value)) return 'invalid';
  return Number(value);
}

/** Reads the body of a session-creation request. */
export function sessionParams(header: StreamHeader, options: BoshOptions): ParamsCheck {
  const rid = parseRid(header.attr('rid'));
  if (rid === undefined) return { ok: false, text: 'rid must be an integer from 1 to 2^53-1' };
  const wait = parseCount(header.attr('wait'));
  const hold = parseCount(header.attr('hold'));
  if (wait === 'invalid' || hold === 'invalid') return { ok: false, text: 'wait and hold must be non-negative integers' };
  const ver = negotiateVersion(header.attr('ver'));
  if (ver === undefined) return { ok: false, text: 'ver must be major.minor' };

  // XEP-0124 §7.1: we may reduce wait and hold, never raise them above what was asked.
  const waitMs = Math.min(wait === undefined ? options.maxWaitMs : wait * 1000, options.maxWaitMs);
  const grantedHold = Math.min(hold ?? 1, options.maxHold);
  return {
    ok: true,
    params: {
      rid,
      waitMs,
      hold: grantedHold,
      requests: Math.min(Math.max(grantedHold + 1, 2), Math.max(options.maxRequests, grantedHold + 1)),
      inactivityMs: options.inactivityMs,
      pollingMs: options.pollingMs,
      maxPauseMs: options.maxPauseMs,
      ver,
      acks: header.attr('ack') === '1',
      to: header.attr('to'),
      lang: header.attr('xml:lang'),
      xmppVersion: xbosh(header, 'version'),
      from: header.attr('from'),
    },
  };
}

function negotiateVersion(asked: string | undefined): string | undefined {
  if (asked === undefined) return `${OUR_VERSION[0]}.${OUR_VERSION[1]}`;
  const m = /^([0-9]{1,4})\.([0-9]{1,4})$/.exec(asked);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major > OUR_VERSION[0] || (major === OUR_VERSION[0] && minor >= OUR_VERSION[1])) return `${OUR_VERSION[0]}.${OUR_VERSION[1]}`;
  return `${major}.${minor}`;
}

/** An attribute in the urn:xmpp:xbosh namespace, whatever prefix the client bound to it. */
export function xbosh(header: StreamHeader, local: string): string | undefined {
  for (const a of header.attrs) if (a.ns === NS_XBOSH && a.local === local) return a.value;
  return undefined;
}
