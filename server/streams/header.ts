// Checks an incoming stream header (RFC 6120 §4.7, §4.8) and builds our response header.
// The same rules serve TCP (<stream:stream>), WebSocket (<open/>, RFC 7395) and BOSH (the
// attributes of the session-creation <body/>), each with its own expected root.

import type { StreamHeader } from '../../parser-wasm/host/types.ts';
import { escapeAttribute } from '../xml/escape.ts';
import type { Element } from '../xml/element.ts';

import { NS_BOSH, NS_FRAMING, NS_STREAM } from '../ns.ts';
import { StreamError, type StreamErrorCondition } from '../errors.ts';

export type { StreamErrorCondition } from '../errors.ts';

export interface HeaderRules {
  /**
   * 'tcp': <stream:stream> in the streams namespace; 'websocket': <open/> in the framing
   * namespace; 'bosh': the session's <body/> (XEP-0206), its xmpp:version given as `version`.
   */
  framing: 'tcp' | 'websocket' | 'bosh';
  /** The namespace stanzas must be in: jabber:client or jabber:component:accept. */
  contentNamespace: string;
  isServedHost(domain: string): boolean;
  /** Used when the header has no 'to' (RFC 6120 §4.7.2 lets the server pick); undefined → host-unknown. */
  defaultHost: string | undefined;
}

export type HeaderCheck =
  | { ok: true; to: string; from: string | undefined; lang: string; version: string }
  | { ok: false; condition: StreamErrorCondition; text: string; to: string | undefined };

// BCP 47 syntax (RFC 5646) without registry checks: letters/digits subtags of 1–8.
const LANGUAGE_TAG = /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/;

export function checkStreamHeader(header: StreamHeader, rules: HeaderRules): HeaderCheck {
  const to = header.attr('to');
  const toLower = to?.toLowerCase();
  const fail = (condition: StreamErrorCondition, text: string): HeaderCheck => ({
    ok: false,
    condition,
    text,
    to: toLower !== undefined && rules.isServedHost(toLower) ? toLower : undefined,
  });

  if (rules.framing === 'tcp') {
    if (header.local !== 'stream' || header.ns !== NS_STREAM) {
      return fail('invalid-namespace', `the stream root must be <stream> in ${NS_STREAM}`);
    }
    if (header.namespaces.get('') !== rules.contentNamespace) {
      return fail('invalid-namespace', `the default namespace must be ${rules.contentNamespace}`);
    }
  } else if (rules.framing === 'bosh') {
    if (header.local !== 'body' || header.ns !== NS_BOSH) return fail('invalid-namespace', `the session must open with <body/> in ${NS_BOSH}`);
  } else if (header.local !== 'open' || header.ns !== NS_FRAMING) {
    return fail('invalid-namespace', `the stream must open with <open/> in ${NS_FRAMING}`);
  }

  const version = header.attr('version');
  if (version === undefined) return fail('unsupported-version', 'a version of 1.0 is required');
  const m = /^(\d+)\.(\d+)$/.exec(version);
  if (!m || Number(m[1]) !== 1) return fail('unsupported-version', 'only version 1.0 is supported');

  const lang = header.attr('xml:lang');
  if (lang !== undefined && !LANGUAGE_TAG.test(lang)) return fail('invalid-xml', 'xml:lang is not a language tag');

  let host = toLower;
  if (host === undefined || host === '') host = rules.defaultHost;
  if (host === undefined || !rules.isServedHost(host)) return fail('host-unknown', 'this server does not serve that domain');

  return { ok: true, to: host, from: header.attr('from'), lang: lang ?? 'en', version: '1.0' };
}

export interface ResponseHeader {
  id: string;
  from: string | undefined;
  to?: string;
  lang: string;
  /** Leave out version='1.0': XEP-0114 components speak the pre-1.0 protocol (no stream features). */
  omitVersion?: boolean;
}

/** The opening we send on TCP. An error before a valid header still gets one (RFC 6120 §4.9.1.1). */
export function tcpResponseHeader(contentNamespace: string, h: ResponseHeader): string {
  let s = `<?xml version='1.0'?><stream:stream xmlns='${contentNamespace}' xmlns:stream='${NS_STREAM}' id='${escapeAttribute(h.id)}'`;
  if (h.from !== undefined) s += ` from='${escapeAttribute(h.from)}'`;
  if (h.to !== undefined) s += ` to='${escapeAttribute(h.to)}'`;
  if (h.omitVersion !== true) s += ` version='1.0'`;
  return s + ` xml:lang='${escapeAttribute(h.lang)}'>`;
}

/** The <open/> we send on WebSocket (RFC 7395 §3.3.2). */
export function websocketOpen(h: ResponseHeader): string {
  let s = `<open xmlns='${NS_FRAMING}' id='${escapeAttribute(h.id)}'`;
  if (h.from !== undefined) s += ` from='${escapeAttribute(h.from)}'`;
  if (h.to !== undefined) s += ` to='${escapeAttribute(h.to)}'`;
  return s + ` version='1.0' xml:lang='${escapeAttribute(h.lang)}'/>`;
}


/** <stream:error> with the condition and an optional text. */
export function streamErrorXml(condition: StreamErrorCondition, text?: string, framing: 'tcp' | 'websocket' = 'tcp', appCondition?: Element): string {
  return new StreamError(condition, { text, appCondition }).toElement({ declarePrefix: framing !== 'tcp' }).toString();
}
