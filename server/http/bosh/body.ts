// <body/> wrappers we send (XEP-0124 §7, §17; XEP-0206 §3). The body declares the
// `stream:` prefix once, so features and stream errors inside need no declaration.

import { NS_BOSH, NS_STREAM, NS_XBOSH } from '../../ns.ts';
import { escapeAttribute } from '../../xml/escape.ts';
import { streamErrorXml, type StreamErrorCondition } from '../../streams/header.ts';

/** XEP-0124 §17 terminal binding conditions. */
export type BoshCondition =
  | 'bad-request' | 'host-gone' | 'host-unknown' | 'improper-addressing' | 'internal-server-error'
  | 'item-not-found' | 'other-request' | 'policy-violation' | 'remote-connection-failed'
  | 'remote-stream-error' | 'see-other-uri' | 'system-shutdown' | 'undefined-condition';

export type BodyAttributes = Record<string, string | number | undefined>;

export function bodyXml(attrs: BodyAttributes, payload: string): string {
  let s = `<body xmlns='${NS_BOSH}' xmlns:xmpp='${NS_XBOSH}' xmlns:stream='${NS_STREAM}'`;
  for (const name in attrs) {
    const value = attrs[name];
    if (value !== undefined) s += ` ${name}='${escapeAttribute(String(value))}'`;
  }
  return payload === '' ? s + '/>' : `${s}>${payload}</body>`;
}

/** A terminating body with a binding condition (or none, for a normal end). */
export function terminateXml(condition?: BoshCondition, payload = '', extra: BodyAttributes = {}): string {
  return bodyXml({ ...extra, type: 'terminate', condition }, payload);
}

/** A stream error from the XMPP layer, carried as `remote-stream-error` (XEP-0206 §5). */
export function streamErrorTerminateXml(condition: StreamErrorCondition, text: string | undefined, payload = ''): string {
  return terminateXml('remote-stream-error', payload + streamErrorXml(condition, text));
}
