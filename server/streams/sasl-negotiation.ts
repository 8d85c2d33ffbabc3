// SASL over XMPP (RFC 6120 §6): the <auth/>, <challenge/>, <response/>, <abort/>,
// <success/>, <failure/> elements around a transport-independent mechanism exchange.

import type { TlsInfo } from '../runtime/types.ts';
import { escapeText } from '../xml/escape.ts';

import { NS_SASL } from '../ns.ts';
import { encodeSaslPayload } from '../auth/sasl/encoding.ts';
import type { SaslFailureCondition, SaslStep } from '../auth/sasl/types.ts';

export { decodeSaslPayload } from '../auth/sasl/encoding.ts';
export type { SaslFailureCondition } from '../auth/sasl/types.ts';

export type SaslStepLike = SaslStep;

export interface SaslExchangeLike {
  step(input: Uint8Array | null): Promise<SaslStep>;
}

export interface SaslConnectionInfo {
  host: string;
  tls: TlsInfo | undefined;
}

export function mechanismsFeature(names: string[]): string {
  let s = `<mechanisms xmlns='${NS_SASL}'>`;
  for (const n of names) s += `<mechanism>${escapeText(n)}</mechanism>`;
  return s + '</mechanisms>';
}

export function saslChallenge(data: Uint8Array): string {
  return `<challenge xmlns='${NS_SASL}'>${encodeSaslPayload(data)}</challenge>`;
}

export function saslSuccess(data: Uint8Array | undefined): string {
  const payload = encodeSaslPayload(data);
  return payload === '' ? `<success xmlns='${NS_SASL}'/>` : `<success xmlns='${NS_SASL}'>${payload}</success>`;
}

export function saslFailure(condition: SaslFailureCondition, text?: string): string {
  let s = `<failure xmlns='${NS_SASL}'><${condition}/>`;
  if (text) s += `<text xml:lang='en'>${escapeText(text)}</text>`;
  return s + '</failure>';
}
