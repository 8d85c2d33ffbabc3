// The stream header a component opens with (XEP-0114 §3): <stream:stream> in the streams
// namespace, jabber:component:accept as the default namespace, and 'to' naming the
// component — the domain it wants, or with is_subdomain a label registered under every
// served host ('muc' → muc.<host>). No version: the protocol predates XMPP 1.0.
//
// Which domains a component may claim: any valid domain name (RFC 7622 domainpart) that
// is not one of the server's own hosts. Claims already held by another component are
// settled after the handshake (conflict_behaviour); claims on a domain a module serves
// are refused there with conflict.

import type { StreamHeader } from '../../parser-wasm/host/types.ts';
import { tryParseJid } from '../jid.ts';
import { NS_COMPONENT_ACCEPT, NS_STREAM } from '../ns.ts';
import type { StreamErrorCondition } from '../errors.ts';

export interface ComponentHeaderRules {
  isServedHost(domain: string): boolean;
  hosts: readonly string[];
  /** The listener registers every component as a subdomain (is_subdomain = true). */
  subdomainByDefault: boolean;
}

export type ComponentHeaderCheck =
  | { ok: true; name: string; domains: string[]; lang: string }
  | { ok: false; condition: StreamErrorCondition; text: string };

export function checkComponentHeader(header: StreamHeader, rules: ComponentHeaderRules): ComponentHeaderCheck {
  const fail = (condition: StreamErrorCondition, text: string): ComponentHeaderCheck => ({ ok: false, condition, text });
  if (header.local !== 'stream' || header.ns !== NS_STREAM) {
    return fail('invalid-namespace', `the stream root must be <stream> in ${NS_STREAM}`);
  }
  if (header.namespaces.get('') !== NS_COMPONENT_ACCEPT) {
    return fail('invalid-namespace', `the default namespace must be ${NS_COMPONENT_ACCEPT}`);
  }
  const to = header.attr('to');
  const jid = to === undefined ? undefined : tryParseJid(to);
  if (jid === undefined || jid.local !== '' || jid.resource !== '') {
    return fail('host-unknown', 'the stream must be addressed to the component domain');
  }
  const name = jid.domain;
  // MongooseIM lets the component ask for subdomain registration in its header.
  const subdomain = rules.subdomainByDefault || header.attr('is_subdomain') === 'true';
  const domains = subdomain ? rules.hosts.map((h) => `${name}.${h}`) : [name];
  for (const d of domains) {
    if (tryParseJid(d)?.domain !== d || rules.isServedHost(d)) return fail('host-unknown', `${d} cannot be claimed by a component`);
  }
  const lang = header.attr('xml:lang');
  return { ok: true, name, domains, lang: lang !== undefined && /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(lang) ? lang : 'en' };
}
