// The <enable/> and <disable/> requests of XEP-0357 §5, read and checked.
//
//   <enable xmlns='urn:xmpp:push:0' jid='push.example' node='n1'>
//     <x xmlns='jabber:x:data' type='submit'>               (optional publish-options)
//       <field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>
//       <field var='secret'><value>…</value></field>
//     </x>
//   </enable>
//   <disable xmlns='urn:xmpp:push:0' jid='push.example' node='n1'/>   (node optional: all of that service)
//
// A missing or malformed jid, a missing node on enable, or a form whose FORM_TYPE is not
// publish-options is bad-request (MongooseIM answers the same).

import { StanzaError } from '../../server/errors.ts';
import { tryParseJid } from '../../server/jid.ts';
import { NS_DATA_FORMS } from '../../server/ns.ts';
import type { Element } from '../../server/xml/element.ts';

export const NS_PUBLISH_OPTIONS = 'http://jabber.org/protocol/pubsub#publish-options';

/** Bounds on what a client may store per registration (security rule 10). */
const MAX_FIELDS = 32;
const MAX_VALUES = 8;
const MAX_TEXT = 1024;

export interface EnableRequest {
  readonly service: string;
  readonly node: string;
  readonly options: Array<[string, string[]]>;
}

export interface DisableRequest {
  readonly service: string;
  readonly node: string | undefined;
}

const bad = (text: string) => new StanzaError('bad-request', { text });

function serviceOf(el: Element): string | StanzaError {
  const raw = el.attrs.jid;
  if (raw === undefined || raw === '') return bad('the jid attribute is required');
  const jid = tryParseJid(raw);
  if (jid === undefined) return bad('the jid attribute is not a valid JID');
  return jid.toString();
}

export function parseEnable(el: Element): EnableRequest | StanzaError {
  const service = serviceOf(el);
  if (service instanceof StanzaError) return service;
  const node = el.attrs.node;
  if (node === undefined || node === '') return bad('the node attribute is required');
  if (node.length > MAX_TEXT) return bad('node too long');
  const forms = el.getChildren('x', NS_DATA_FORMS);
  if (forms.length > 1) return bad('at most one publish-options form');
  const options = forms.length === 1 ? parseOptionsForm(forms[0]!) : [];
  if (options instanceof StanzaError) return options;
  return { service, node, options };
}

export function parseDisable(el: Element): DisableRequest | StanzaError {
  const service = serviceOf(el);
  if (service instanceof StanzaError) return service;
  const node = el.attrs.node;
  if (node === '') return bad('an empty node attribute');
  return { service, node };
}

function parseOptionsForm(form: Element): Array<[string, string[]]> | StanzaError {
  const type = form.attrs.type;
  if (type !== undefined && type !== 'submit') return bad('publish-options must be a submitted form');
  let formType: string | undefined;
  const options: Array<[string, string[]]> = [];
  for (const field of form.getChildren('field', NS_DATA_FORMS)) {
    const name = field.attrs.var;
    if (name === undefined || name === '') return bad('a form field without var');
    const values = field.getChildren('value', NS_DATA_FORMS).map((v) => v.text);
    if (name === 'FORM_TYPE') {
      formType = values[0];
      continue;
    }
    if (values.length > MAX_VALUES || name.length > MAX_TEXT || values.some((v) => v.length > MAX_TEXT)) return bad('publish-options too large');
    options.push([name, values]);
    if (options.length > MAX_FIELDS) return bad('too many publish-options fields');
  }
  if (formType !== NS_PUBLISH_OPTIONS) return bad(`the form's FORM_TYPE must be ${NS_PUBLISH_OPTIONS}`);
  return options;
}
