// SDP → Jingle contents (XEP-0167 RTP, XEP-0176 ICE-UDP, XEP-0320 DTLS, XEP-0293 rtcp-fb,
// XEP-0294 header extensions, XEP-0339 sources, XEP-0338 groups). The SDP comes from a SIP
// peer: it is parsed with sdp-transform, bounded, and values that would not survive as XML
// text or that break their grammar raise GatewayInputError (the SIP side answers 488).
//
// A peer without ICE (a plain SIP phone) has only c= and m=: that address becomes one host
// candidate of an ICE-UDP transport without ufrag/pwd, and the reverse translation writes
// such a transport back as c= and m= alone.

import { parse, type MediaDescription, type SessionDescription } from 'sdp-transform';
import { Element, xml } from '../../../server/xml/element.ts';
import { LIMITS, isIp, isPort, isSafeText, isToken } from '../sip/grammar.ts';
import { GatewayInputError } from './jingle-to-sdp.ts';
import { NS_DTLS, NS_GROUPING, NS_HDREXT, NS_ICE_UDP, NS_RTCP_FB, NS_RTP, NS_SSMA } from './jingle-ns.ts';

function check(ok: boolean, what: string): void {
  if (!ok) throw new GatewayInputError(`invalid SDP ${what}`);
}

export function sendersOf(direction: string | undefined, writerIsInitiator: boolean): string {
  switch (direction ?? 'sendrecv') {
    case 'sendrecv': return 'both';
    case 'inactive': return 'none';
    case 'sendonly': return writerIsInitiator ? 'initiator' : 'responder';
    case 'recvonly': return writerIsInitiator ? 'responder' : 'initiator';
    default: throw new GatewayInputError('invalid SDP direction');
  }
}

/** Parses and bounds an SDP body; throws GatewayInputError when it is not one we translate. */
export function parseSdp(text: string): SessionDescription {
  check(text.length <= LIMITS.maxMessageBytes, 'size');
  // Anything but printable text and line ends is not SDP (RFC 8866 §9: no control characters).
  check(/^[\x20-\x7e\x80-\uffff\r\n\t]*$/.test(text), 'characters');
  check(/^v=0\r?\n/.test(text), 'version line');
  let session: SessionDescription;
  try {
    session = parse(text);
  } catch {
    throw new GatewayInputError('unparsable SDP');
  }
  check(Array.isArray(session.media) && session.media.length > 0 && session.media.length <= LIMITS.maxContents, 'media count');
  return session;
}

export function sdpToJingle(text: string, writerIsInitiator: boolean): Element[] {
  const session = parseSdp(text);
  const out: Element[] = [];
  const names: string[] = [];
  session.media.forEach((m, index) => {
    let name = m.mid !== undefined ? String(m.mid) : m.type;
    if (names.includes(name)) name = `${name}${index}`;
    check(isToken(name), 'mid');
    names.push(name);
    // Media we do not translate (data channels, images) are left out of the call.
    if (m.type !== 'audio' && m.type !== 'video') return;
    out.push(contentOf(session, m, name, writerIsInitiator));
  });
  check(out.length > 0, 'audio or video media');
  for (const g of session.groups ?? []) {
    check(isToken(g.type), 'group semantics');
    const mids = String(g.mids).split(' ').filter((s) => s !== '');
    check(mids.length <= LIMITS.maxContents && mids.every((mid) => isToken(mid)), 'group mids');
    out.unshift(xml('group', { xmlns: NS_GROUPING, semantics: g.type }, mids.map((mid) => xml('content', { name: mid }))));
  }
  return out;
}

function safe(v: string | number | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  check(isSafeText(s), what);
  return s;
}

function contentOf(session: SessionDescription, m: MediaDescription, name: string, writerIsInitiator: boolean): Element {
  const desc = xml('description', { xmlns: NS_RTP, media: m.type });
  check(m.rtp.length <= LIMITS.maxPayloadTypes, 'payload count');
  const payloadIds = String(m.payloads ?? '').split(' ').filter((s) => s !== '').map(Number);
  check(payloadIds.length <= LIMITS.maxPayloadTypes && payloadIds.every((n) => Number.isInteger(n) && n >= 0 && n <= 127), 'payload types');
  for (const id of payloadIds) {
    const rtp = m.rtp.find((r) => r.payload === id);
    const pt = xml('payload-type', { id });
    if (rtp) {
      check(isToken(rtp.codec), 'codec name');
      pt.attrs.name = rtp.codec;
      if (rtp.rate !== undefined) pt.attrs.clockrate = String(rtp.rate);
      if (rtp.encoding !== undefined) pt.attrs.channels = String(rtp.encoding);
    }
    const fmtp = m.fmtp.find((f) => f.payload === id);
    if (fmtp) {
      const params = fmtp.config.split(';').map((p) => p.trim()).filter((p) => p !== '');
      check(params.length <= 32, 'fmtp parameter count');
      for (const p of params) {
        const eq = p.indexOf('=');
        const key = eq < 0 ? p : p.slice(0, eq).trim();
        check(isToken(key), 'fmtp parameter name');
        pt.append(xml('parameter', { name: key, value: safe(eq < 0 ? '' : p.slice(eq + 1).trim(), 'fmtp value') }));
      }
    }
    for (const fb of m.rtcpFb ?? []) if (Number(fb.payload) === id) pt.append(rtcpFb(fb));
    desc.append(pt);
  }
  for (const fb of m.rtcpFb ?? []) if (fb.payload === '*') desc.append(rtcpFb(fb));
  const exts = m.ext ?? [];
  check(exts.length <= LIMITS.maxExtmaps, 'extmap count');
  for (const ext of exts) {
    check(Number.isInteger(ext.value) && ext.value >= 1 && ext.value <= 255, 'extmap id');
    const attrs: Record<string, string | undefined> = { xmlns: NS_HDREXT, id: String(ext.value), uri: safe(ext.uri, 'extmap uri') };
    if (ext.direction !== undefined && ext.direction !== 'sendrecv') attrs.senders = sendersOf(ext.direction, writerIsInitiator);
    desc.append(xml('rtp-hdrext', attrs));
  }
  const ssrcs = m.ssrcs ?? [];
  check(ssrcs.length <= LIMITS.maxSsrcs * 4, 'ssrc count');
  const sources = new Map<number, Element>();
  for (const s of ssrcs) {
    const id = Number(s.id);
    check(Number.isInteger(id) && id >= 0 && id <= 0xffff_ffff, 'ssrc');
    let source = sources.get(id);
    if (!source) {
      check(sources.size < LIMITS.maxSsrcs, 'ssrc count');
      sources.set(id, (source = xml('source', { xmlns: NS_SSMA, ssrc: String(id) })));
      desc.append(source);
    }
    check(isToken(s.attribute), 'ssrc attribute');
    source.append(xml('parameter', { name: s.attribute, value: safe(s.value, 'ssrc value') }));
  }
  for (const g of m.ssrcGroups ?? []) {
    check(isToken(g.semantics), 'ssrc-group semantics');
    const ids = String(g.ssrcs).split(' ').filter((s) => s !== '');
    check(ids.length <= 16 && ids.every((i) => /^\d{1,10}$/.test(i)), 'ssrc-group');
    desc.append(xml('ssrc-group', { xmlns: NS_SSMA, semantics: g.semantics }, ids.map((ssrc) => xml('source', { ssrc }))));
  }
  if (m.rtcpMux !== undefined) desc.append(xml('rtcp-mux'));

  const transport = xml('transport', { xmlns: NS_ICE_UDP });
  const ufrag = m.iceUfrag ?? session.iceUfrag;
  const pwd = m.icePwd ?? session.icePwd;
  if (ufrag !== undefined || pwd !== undefined) {
    transport.attrs.ufrag = safe(ufrag, 'ice-ufrag') ?? '';
    transport.attrs.pwd = safe(pwd, 'ice-pwd') ?? '';
  }
  const fp = m.fingerprint ?? session.fingerprint;
  if (fp) {
    check(isToken(fp.type) && /^[0-9A-Fa-f:]{1,200}$/.test(fp.hash), 'fingerprint');
    const setup = m.setup ?? session.setup;
    transport.append(xml('fingerprint', { xmlns: NS_DTLS, hash: fp.type, setup: safe(setup, 'setup') }, fp.hash));
  }
  const candidates = m.candidates ?? [];
  check(candidates.length <= LIMITS.maxCandidates, 'candidate count');
  if (candidates.length > 0) {
    candidates.forEach((c, i) => {
      check(isIp(String(c.ip)) && isPort(Number(c.port)) && /^[A-Za-z0-9+/]{1,32}$/.test(String(c.foundation)), 'candidate');
      transport.append(xml('candidate', {
        component: c.component, foundation: c.foundation, generation: c.generation ?? 0, id: `c${i}`,
        ip: c.ip, network: 0, port: c.port, priority: c.priority, protocol: safe(c.transport, 'candidate transport')?.toLowerCase(),
        type: safe(c.type, 'candidate type'), 'rel-addr': safe(c.raddr, 'rel-addr'), 'rel-port': c.rport, tcptype: safe(c.tcptype, 'tcptype'),
      }));
    });
  } else {
    const ip = m.connection?.ip ?? session.connection?.ip;
    check(ip !== undefined && isIp(ip), 'connection address');
    check(isPort(m.port), 'media port');
    transport.append(xml('candidate', {
      component: 1, foundation: '1', generation: 0, id: 'c0', ip, network: 0, port: m.port, priority: 1, protocol: 'udp', type: 'host',
    }));
  }
  return xml('content', { creator: 'initiator', name, senders: sendersOf(m.direction ?? session.direction, writerIsInitiator) }, desc, transport);
}

function rtcpFb(fb: { type: string; subtype?: string }): Element {
  check(isToken(fb.type) && (fb.subtype === undefined || isToken(fb.subtype)), 'rtcp-fb');
  return xml('rtcp-fb', { xmlns: NS_RTCP_FB, type: fb.type, subtype: fb.subtype });
}
