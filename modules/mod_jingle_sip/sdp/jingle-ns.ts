// Namespaces of Jingle and the extensions the gateway translates.

export const NS_JINGLE = 'urn:xmpp:jingle:1';
export const NS_JINGLE_ERRORS = 'urn:xmpp:jingle:errors:1';
export const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';
export const NS_RTP_INFO = 'urn:xmpp:jingle:apps:rtp:info:1';
export const NS_ICE_UDP = 'urn:xmpp:jingle:transports:ice-udp:1';
export const NS_DTLS = 'urn:xmpp:jingle:apps:dtls:0';
export const NS_RTCP_FB = 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0';
export const NS_HDREXT = 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0';
export const NS_SSMA = 'urn:xmpp:jingle:apps:rtp:ssma:0';
export const NS_GROUPING = 'urn:xmpp:jingle:apps:grouping:0';
/** Where the gateway puts the SIP status of a failed call, beside the Jingle reason. */
export const NS_SIP_STATUS = 'urn:xmpp:jingle:sip:status:0';
