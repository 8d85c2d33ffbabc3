// XEP-0313 queries: the search form (with the urn:xmpp:mam:2#extended fields), XEP-0059
// result set management, and the <result/> / <fin/> elements of the answer.

import { NS_DATA_FORMS, NS_DELAY, NS_FORWARD, NS_MAM, NS_RSM } from '../../server/ns.ts';
import { StanzaError } from '../../server/errors.ts';
import { tryParseJid } from '../../server/jid.ts';
import { xml, type Element } from '../../server/xml/element.ts';
import type { ArchiveQuery, ArchivedMessage } from '../../server/storage/mam.ts';

export const NS_MAM_EXTENDED = 'urn:xmpp:mam:2#extended';

/** The most ids an `ids` filter may list (each is one index lookup). */
export const MAX_IDS = 250;

/** A query as the IQ asked for it, before any id is checked against the archive. */
export interface ParsedQuery {
  readonly queryId: string | undefined;
  readonly query: ArchiveQuery;
  /** Ids that must exist in the requester's archive (RSM after/before, after-id/before-id). */
  readonly referencedIds: readonly number[];
}

// XEP-0082 DateTime.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const ARCHIVE_ID = /^[1-9][0-9]{0,15}$/;

function parseDate(field: string, value: string): number | StanzaError {
  const ms = DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) return new StanzaError('bad-request', { text: `${field}: not an XEP-0082 date-time: ${value}` });
  return ms;
}

/** An archive id from the wire; undefined when it cannot be one of ours. */
export function parseArchiveId(text: string): number | undefined {
  return ARCHIVE_ID.test(text) ? Number(text) : undefined;
}

/** Reads <query/>; a StanzaError for anything malformed or unsupported. */
export function parseQuery(query: Element, pageSize: { default: number; max: number }): ParsedQuery | StanzaError {
  const q: { -readonly [K in keyof ArchiveQuery]: ArchiveQuery[K] } = { max: pageSize.default };
  const referenced: number[] = [];
  // An id that is not one of ours can only be "not found" (XEP-0313 §5.1.3).
  const boundary = (text: string): number | StanzaError => {
    const id = parseArchiveId(text);
    if (id === undefined) return new StanzaError('item-not-found', { text: `no message with id ${text}` });
    referenced.push(id);
    return id;
  };
  const tighten = (key: 'after' | 'before', id: number): void => {
    const current = q[key];
    q[key] = current === undefined ? id : key === 'after' ? Math.max(current, id) : Math.min(current, id);
  };

  const form = query.getChild('x', NS_DATA_FORMS);
  if (form !== undefined) {
    for (const field of form.getChildren('field')) {
      const name = field.attrs.var ?? '';
      const values = field.getChildren('value').map((v) => v.text);
      const value = values[0] ?? '';
      switch (name) {
        case 'FORM_TYPE':
          if (value !== NS_MAM) return new StanzaError('bad-request', { text: `unsupported FORM_TYPE ${value}` });
          break;
        case 'with': {
          const jid = tryParseJid(value);
          if (jid === undefined) return new StanzaError('jid-malformed', { text: `with: not a JID: ${value}` });
          // The archive keeps the other party's bare JID: a full JID narrows to its account.
          q.with = jid.bare().toString();
          break;
        }
        case 'start':
        case 'end': {
          const ms = parseDate(name, value);
          if (ms instanceof StanzaError) return ms;
          q[name] = ms;
          break;
        }
        case 'after-id':
        case 'before-id': {
          const id = boundary(value);
          if (id instanceof StanzaError) return id;
          tighten(name === 'after-id' ? 'after' : 'before', id);
          break;
        }
        case 'ids': {
          if (values.length > MAX_IDS) return new StanzaError('policy-violation', { text: `at most ${MAX_IDS} ids per query` });
          q.ids = values.map(parseArchiveId).filter((id): id is number => id !== undefined);
          break;
        }
        default:
          // §5.1.2: a field the server does not support is an error, not something to ignore.
          return new StanzaError('bad-request', { text: `unsupported field ${name}` });
      }
    }
  }

  const set = query.getChild('set', NS_RSM);
  if (set !== undefined) {
    const maxText = set.getChildText('max');
    if (maxText !== undefined) {
      const max = /^[0-9]{1,9}$/.test(maxText.trim()) ? Number(maxText.trim()) : Number.NaN;
      if (Number.isNaN(max)) return new StanzaError('bad-request', { text: 'rsm max: not a non-negative integer' });
      q.max = Math.min(max, pageSize.max);
    }
    const after = set.getChild('after');
    if (after !== undefined) {
      const id = boundary(after.text);
      if (id instanceof StanzaError) return id;
      tighten('after', id);
    }
    const before = set.getChild('before');
    if (before !== undefined) {
      // <before/> empty: the last page; with an id: the page that ends just before it.
      q.fromEnd = true;
      if (before.text !== '') {
        const id = boundary(before.text);
        if (id instanceof StanzaError) return id;
        tighten('before', id);
      }
    }
    if (set.getChild('index') !== undefined) return new StanzaError('feature-not-implemented', { text: 'rsm index is not supported' });
  }
  return { queryId: query.attrs.queryid, query: q, referencedIds: referenced };
}

/** The search form a client asks for with an IQ get (§5.1.1). */
export function queryForm(): Element {
  const field = (v: string, type: string, label?: string) => xml('field', { var: v, type, label });
  return xml('query', { xmlns: NS_MAM },
    xml('x', { xmlns: NS_DATA_FORMS, type: 'form' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', null, NS_MAM)),
      field('with', 'jid-single'),
      field('start', 'text-single'),
      field('end', 'text-single'),
      field('after-id', 'text-single'),
      field('before-id', 'text-single'),
      field('ids', 'text-multi')));
}

/** One <message/> of the answer, carrying an archived message. */
export function resultMessage(owner: string, to: string, queryId: string | undefined, entry: ArchivedMessage, stored: Element): Element {
  return xml('message', { from: owner, to, id: `mam-${entry.id}` },
    xml('result', { xmlns: NS_MAM, queryid: queryId, id: String(entry.id) },
      xml('forwarded', { xmlns: NS_FORWARD },
        xml('delay', { xmlns: NS_DELAY, stamp: new Date(entry.timestamp).toISOString() }),
        stored)));
}

/** The <fin/> that ends an answer (§4.3): complete, and the RSM bounds of the page. */
export function finElement(page: readonly ArchivedMessage[], complete: boolean): Element {
  const set = xml('set', { xmlns: NS_RSM });
  if (page.length > 0) {
    set.append(xml('first', null, String(page[0].id)));
    set.append(xml('last', null, String(page[page.length - 1].id)));
  }
  // Results never change under a client (ids only grow; nothing is edited in place), so
  // 'stable' keeps its default, true.
  return xml('fin', { xmlns: NS_MAM, complete: complete ? 'true' : undefined }, set);
}
