// Which messages change an inbox, and which chat markers reset its unread count.

import { NS_CARBONS, NS_DELAY, NS_FORWARD, NS_MAM } from '../../server/ns.ts';
import type { Element } from '../../server/xml/element.ts';

export const NS_CHAT_MARKERS = 'urn:xmpp:chat-markers:0';
export type ResetMarker = 'displayed' | 'received' | 'acknowledged';

/**
 * A 1:1 message that becomes the conversation's last message: chat or normal with a body.
 * Carbons, forwarded copies, archive results and delayed (re-sent, offline-replayed)
 * messages are copies of something already counted; errors are not messages of the chat.
 */
export function updatesInbox(message: Element): boolean {
  const type = message.attrs.type ?? 'normal';
  if (type !== 'chat' && type !== 'normal') return false;
  let body = false;
  for (const child of message.elements) {
    const ns = child.ns;
    if (ns === NS_CARBONS || ns === NS_FORWARD || ns === NS_DELAY) return false;
    if (ns === NS_MAM && child.localName === 'result') return false;
    if (child.localName === 'body') body = true;
  }
  return body;
}

/** The id a reset marker points at (<displayed id='…'/> etc.), if the message carries one. */
export function resetMarkerId(message: Element, markers: ReadonlySet<string>): string | undefined {
  if (message.attrs.type === 'error') return undefined;
  for (const child of message.elements) {
    if (child.ns === NS_CHAT_MARKERS && markers.has(child.localName) && child.attrs.id) return child.attrs.id;
  }
  return undefined;
}
