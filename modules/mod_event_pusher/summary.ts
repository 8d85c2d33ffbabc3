// The publish an XMPP server sends to an app server (XEP-0357 §7): a urn:xmpp:push:summary
// form in a <notification/> item, with the registration's publish-options.

import { Element } from '../../server/xml/element.ts';
import { NS_DATA_FORMS, NS_PUBSUB, NS_PUSH } from '../../server/ns.ts';
import { NS_PUBLISH_OPTIONS } from './enable-iq.ts';
import type { Registration } from './registrations.ts';

export const NS_PUSH_SUMMARY = 'urn:xmpp:push:summary';

export interface Summary {
  readonly messageCount: number;
  /** Left out when the configuration hides senders. */
  readonly lastSender?: string;
  /** Left out when the configuration hides bodies. */
  readonly lastBody?: string;
}

function field(form: Element, name: string, values: readonly string[], type?: string): void {
  const f = form.c('field', { var: name, type });
  for (const v of values) f.c('value').t(v);
}

export function summaryForm(summary: Summary): Element {
  const form = new Element('x', { xmlns: NS_DATA_FORMS, type: 'submit' });
  field(form, 'FORM_TYPE', [NS_PUSH_SUMMARY], 'hidden');
  field(form, 'message-count', [String(summary.messageCount)]);
  if (summary.lastSender !== undefined) field(form, 'last-message-sender', [summary.lastSender]);
  if (summary.lastBody !== undefined) field(form, 'last-message-body', [summary.lastBody]);
  return form;
}

/** The <iq type='set'/> (without id/from/to: the publisher sets them). */
export function publishIq(registration: Registration, summary: Summary): Element {
  const iq = new Element('iq', { type: 'set' });
  const pubsub = iq.c('pubsub', { xmlns: NS_PUBSUB });
  pubsub.c('publish', { node: registration.node }).c('item').c('notification', { xmlns: NS_PUSH }).append(summaryForm(summary));
  if (registration.options.length > 0) {
    const form = pubsub.c('publish-options').c('x', { xmlns: NS_DATA_FORMS, type: 'submit' });
    field(form, 'FORM_TYPE', [NS_PUBLISH_OPTIONS], 'hidden');
    for (const [name, values] of registration.options) field(form, name, values);
  }
  return iq;
}
