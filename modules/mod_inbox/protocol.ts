// The wire format of MongooseIM's inbox (erlang-solutions.com:xmpp:inbox:0): the query form,
// entries as <result/> messages, the closing <fin/>, and conversation properties (#conversation).

import { NS_DATA_FORMS, NS_DELAY, NS_FORWARD, NS_INBOX, NS_RSM } from '../../server/ns.ts';
import { StanzaError } from '../../server/errors.ts';
import { xml, type Element } from '../../server/xml/element.ts';
import type { InboxEntry, InboxQuery, InboxTotals } from '../../server/storage/inbox.ts';

export const NS_INBOX_CONVERSATION = `${NS_INBOX}#conversation`;

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(field: string, value: string): StanzaError {
  return new StanzaError('bad-request', { text: `Invalid inbox form field value, field=${field}, value=${value}` });
}

/** Reads <inbox/>: its data form and RSM <max/>. `boxes` are the box names that exist. */
export function parseInboxQuery(inbox: Element, boxes: ReadonlySet<string>): InboxQuery | StanzaError {
  const q: InboxQuery = { order: 'desc', unreadOnly: false };
  for (const field of inbox.getChild('x', NS_DATA_FORMS)?.getChildren('field') ?? []) {
    const name = field.attrs.var ?? '';
    const value = (field.getChildText('value') ?? field.attrs.value ?? '').trim();
    switch (name) {
      case 'FORM_TYPE':
        break;
      case 'start':
      case 'end': {
        const ms = DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
        if (Number.isNaN(ms)) return invalid(name, value);
        q[name] = ms;
        break;
      }
      case 'order':
        if (value !== 'asc' && value !== 'desc') return invalid(name, value);
        q.order = value;
        break;
      case 'hidden_read':
        if (value !== 'true' && value !== 'false' && value !== '1' && value !== '0') return invalid(name, value);
        q.unreadOnly = value === 'true' || value === '1';
        break;
      case 'box':
        if (value !== 'all' && !boxes.has(value)) return invalid(name, value);
        q.box = value === 'all' ? undefined : value;
        break;
      case 'archive':
        // Older clients: true = the archive box only, false = the active box only.
        if (value !== 'true' && value !== 'false' && value !== '1' && value !== '0') return invalid(name, value);
        q.box = value === 'true' || value === '1' ? 'archive' : 'inbox';
        break;
      default:
        return new StanzaError('bad-request', { text: `Unknown inbox form field=${name}` });
    }
  }
  const max = inbox.getChild('set', NS_RSM)?.getChildText('max');
  if (max !== undefined) {
    if (!/^[0-9]{1,9}$/.test(max.trim())) return invalid('max', max);
    q.max = Number(max.trim());
  }
  return q;
}

export function inboxForm(boxes: readonly string[]): Element {
  const options = ['all', ...boxes].map((b) => xml('option', { label: b }, xml('value', null, b)));
  return xml('query', { xmlns: NS_INBOX },
    xml('x', { xmlns: NS_DATA_FORMS, type: 'form' },
      xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', null, NS_INBOX)),
      xml('field', { var: 'start', type: 'text-single' }),
      xml('field', { var: 'end', type: 'text-single' }),
      xml('field', { var: 'order', type: 'list-single' },
        xml('value', null, 'desc'),
        xml('option', { label: 'Ascending by timestamp' }, xml('value', null, 'asc')),
        xml('option', { label: 'Descending by timestamp' }, xml('value', null, 'desc'))),
      xml('field', { var: 'hidden_read', type: 'text-single', value: 'false' }),
      xml('field', { var: 'box', type: 'list-single', value: 'all' }, ...options),
      xml('field', { var: 'archive', type: 'boolean' })));
}

/** Mute as shown on the wire: 0, or when it ends (RFC 3339). */
export function muteText(mutedUntil: number, now: number): string {
  return mutedUntil > now ? new Date(mutedUntil).toISOString() : '0';
}

/** The properties of an entry, as children of a <query/>, <x/> or <result/>. */
export function propertyElements(entry: InboxEntry, now: number): Element[] {
  return [
    xml('box', null, entry.box),
    xml('archive', null, entry.box === 'archive' ? 'true' : 'false'),
    xml('mute', null, muteText(entry.mutedUntil, now)),
    xml('read', null, entry.unread === 0 ? 'true' : 'false'),
  ];
}

export function resultMessage(owner: string, to: string, queryId: string, entry: InboxEntry, stored: Element, now: number): Element {
  return xml('message', { from: owner, to, id: `inbox-${queryId}-${entry.remote}` },
    xml('result', { xmlns: NS_INBOX, unread: entry.unread, queryid: queryId },
      xml('forwarded', { xmlns: NS_FORWARD },
        xml('delay', { xmlns: NS_DELAY, stamp: new Date(entry.timestamp).toISOString() }),
        stored),
      ...propertyElements(entry, now)));
}

export function finElement(totals: InboxTotals): Element {
  return xml('fin', { xmlns: NS_INBOX },
    xml('count', null, String(totals.count)),
    xml('unread-messages', null, String(totals.unreadMessages)),
    xml('active-conversations', null, String(totals.activeConversations)));
}

export interface PropertyChange {
  box?: string;
  unread?: number | 'at-least-one';
  /** Seconds from now; 0 unmutes. */
  muteSeconds?: number;
}

/** Reads the children of a #conversation set: box, archive, mute, read. */
export function parsePropertyChange(query: Element, boxes: ReadonlySet<string>): PropertyChange | StanzaError {
  const change: PropertyChange = {};
  let any = false;
  for (const child of query.elements) {
    const value = child.text.trim();
    any = true;
    switch (child.localName) {
      case 'box':
        if (!boxes.has(value)) return new StanzaError('bad-request', { text: `unknown box ${value}` });
        change.box = value;
        break;
      case 'archive':
        if (value !== 'true' && value !== 'false') return new StanzaError('bad-request', { text: 'archive must be true or false' });
        change.box = value === 'true' ? 'archive' : 'inbox';
        break;
      case 'mute':
        if (!/^[0-9]{1,10}$/.test(value)) return new StanzaError('bad-request', { text: 'mute must be a number of seconds' });
        change.muteSeconds = Number(value);
        break;
      case 'read':
        if (value !== 'true' && value !== 'false') return new StanzaError('bad-request', { text: 'read must be true or false' });
        change.unread = value === 'true' ? 0 : 'at-least-one';
        break;
      default:
        return new StanzaError('bad-request', { text: `unknown property ${child.localName}` });
    }
  }
  if (!any) return new StanzaError('bad-request', { text: 'no property to set' });
  return change;
}

export function propertiesForm(boxes: readonly string[]): Element {
  return xml('query', { xmlns: NS_INBOX_CONVERSATION },
    xml('x', { xmlns: NS_DATA_FORMS, type: 'form' },
      xml('field', { type: 'hidden', var: 'FORM_TYPE' }, xml('value', null, NS_INBOX)),
      xml('field', { var: 'archive', type: 'boolean', value: 'false' }),
      xml('field', { var: 'read', type: 'boolean', value: 'false' }),
      xml('field', { var: 'mute', type: 'text-single', value: '0' }),
      xml('field', { var: 'box', type: 'list-single', value: 'all' },
        ...['all', ...boxes].map((b) => xml('option', { label: b }, xml('value', null, b))))));
}
