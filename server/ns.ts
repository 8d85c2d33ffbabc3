// XML namespaces the core and the streams refer to. One constant per namespace, so a typo
// is a compile error rather than a stanza that silently matches nothing.

// RFC 6120: streams and stanzas
export const NS_CLIENT = 'jabber:client';
export const NS_SERVER = 'jabber:server';
export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_XML = 'http://www.w3.org/XML/1998/namespace';

// RFC 3921 legacy session establishment (still announced as optional for old clients)
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';

// RFC 6121
export const NS_ROSTER = 'jabber:iq:roster';

// RFC 7395 (WebSocket framing) and XEP-0124/0206 (BOSH)
export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
export const NS_BOSH = 'http://jabber.org/protocol/httpbind';
export const NS_XBOSH = 'urn:xmpp:xbosh';

// XEP-0114 components, XEP-0220 dialback
export const NS_COMPONENT_ACCEPT = 'jabber:component:accept';
export const NS_DIALBACK = 'jabber:server:dialback';
export const NS_DIALBACK_FEATURES = 'urn:xmpp:features:dialback';

// Frequently used XEPs
export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
export const NS_PING = 'urn:xmpp:ping';
export const NS_VERSION = 'jabber:iq:version';
export const NS_LAST = 'jabber:iq:last';
export const NS_PRIVATE = 'jabber:iq:private';
export const NS_REGISTER = 'jabber:iq:register';
export const NS_VCARD = 'vcard-temp';
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_CAPS = 'http://jabber.org/protocol/caps';
export const NS_CARBONS = 'urn:xmpp:carbons:2';
export const NS_FORWARD = 'urn:xmpp:forward:0';
export const NS_SM = 'urn:xmpp:sm:3';
export const NS_CSI = 'urn:xmpp:csi:0';
export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_BLOCKING = 'urn:xmpp:blocking';
export const NS_PUSH = 'urn:xmpp:push:0';
export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_COMMANDS = 'http://jabber.org/protocol/commands';
export const NS_DATA_FORMS = 'jabber:x:data';
export const NS_RSM = 'http://jabber.org/protocol/rsm';
export const NS_HINTS = 'urn:xmpp:hints';
export const NS_STANZA_ID = 'urn:xmpp:sid:0';
export const NS_TIME = 'urn:xmpp:time';
export const NS_INBOX = 'erlang-solutions.com:xmpp:inbox:0';
