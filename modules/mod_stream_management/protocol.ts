// The XEP-0198 elements the server writes, and the one number it reads (h).

import { NS_SM, NS_STANZAS } from '../../server/ns.ts';
import { Element } from '../../server/xml/element.ts';
import { escapeAttribute } from '../../server/xml/escape.ts';

/** Counters wrap at 2^32 (XEP-0198 §4). */
export const H_MODULUS = 2 ** 32;

/** An h attribute: an unsigned 32-bit decimal; undefined when absent or malformed. */
export function parseH(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n < H_MODULUS ? n : undefined;
}

export function enabledXml(id: string | undefined, maxSeconds: number | undefined): string {
  if (id === undefined) return `<enabled xmlns='${NS_SM}'/>`;
  return `<enabled xmlns='${NS_SM}' id='${escapeAttribute(id)}' resume='true' max='${maxSeconds}'/>`;
}

export function resumedXml(previd: string, h: number): string {
  return `<resumed xmlns='${NS_SM}' previd='${escapeAttribute(previd)}' h='${h}'/>`;
}

/** <failed/> with a stanza error condition; h when the old session's count is known (§4, 1.6). */
export function failedXml(condition: string, h?: number, extra = ''): string {
  const hAttr = h === undefined ? '' : ` h='${h}'`;
  return `<failed xmlns='${NS_SM}'${hAttr}><${condition} xmlns='${NS_STANZAS}'/>${extra}</failed>`;
}

export function ackXml(h: number): string {
  return `<a xmlns='${NS_SM}' h='${h}'/>`;
}

export const ACK_REQUEST = `<r xmlns='${NS_SM}'/>`;

/** The application condition of a stream error for an <a/> acknowledging more than was sent. */
export function handledCountTooHigh(h: number, sendCount: number): Element {
  return new Element('handled-count-too-high', { xmlns: NS_SM, h: String(h), 'send-count': String(sendCount) });
}
