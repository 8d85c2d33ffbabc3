// Jingle contents → SDP (RFC 4566/8866), written with sdp-transform. Every value taken from
// the stanza passes a grammar check first (../sip/grammar.ts); one that does not raises
// GatewayInputError, which the gateway answers with bad-request. Counts are bounded.
//
// Direction: Jingle's `senders` names a party, SDP's direction is the writer's view, so the
// mapping depends on who wrote the description (`writerIsInitiator`).

import { write, type MediaDescription, type SessionDescription } from 'sdp-transform';
import type { Element } from '../../../server/xml/element.ts';
import {
  LIMITS, isFingerprint, isIceChars, isIp, isPort, isSafeText, isToken, parseIntIn,
} from '../sip/grammar.ts';
import { NS_DTLS, NS_GROUPING, NS_HDREXT, NS_ICE_UDP, NS_RTCP_FB, NS_RTP, NS_SSMA } from './jingle-ns.ts';

export class GatewayInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayInputError';
  }
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new GatewayInputError(`invalid ${what}`);
}

function intAttr(el: Element, name: string, min: number, max: number, what: string): number {
  const n = parseIntIn(el.attrs[name], min, max);
  if (n === undefined) throw new GatewayInputError(`invalid ${what}`);
  return n;
}

function optIntAttr(el: Element, name: string, min: number, max: number, what: string): number | undefined {
  return el.attrs[name] === undefined ? undefined : intAttr(el, name, min, max, what);
}

function tokenAttr(el: Element, name: string, what: string): string {
  const v = el.attrs[name];
  check(v !== undefined && isToken(v), what);
  return v!;
}

/** A value that sits between spaces in an SDP line: printable, no space. */
function wordValue(v: string | undefined, what: string): string {
  check(v !== undefined && v !== '' && isSafeText(v) && !v.includes(' '), what);
  return v!;
}

export type Senders = 'both' | 'initiator' | 'responder' | 'none';

export function directionOf(senders: string | undefined, writerIsInitiator: boolean): MediaDescription['direction'] {
  switch (senders ?? 'both') {
    case 'both': return 'sendrecv';
    case 'none': return 'inactive';
    case 'initiator': return writerIsInitiator ? 'sendonly' : 'recvonly';
    case 'responder': return writerIsInitiator ? 'recvonly' : 'sendonly';
    default: throw new GatewayInputError('invalid senders');
  }
}

export interface SdpWriteOptions {
  /** o= username (the sdp_origin option). */
  origin: string;
  /** o= address: the gateway's own host. */
  originAddress: string;
  sessionId: number;
  sessionVersion: number;
  writerIsInitiator: boolean;
}

/** The SDP of a Jingle session-initiate or session-accept. */
export function jingleToSdp(jingle: Element, options: SdpWriteOptions): string {
  const contents = jingle.getChildren('content');
  check(contents.length > 0 && contents.length <= LIMITS.maxContents, 'number of contents');
  check(isToken(options.origin), 'sdp origin');
  const session: SessionDescription = {
    version: 0,
    origin: { username: options.origin, sessionId: options.sessionId, sessionVersion: options.sessionVersion, netType: 'IN', ipVer: options.originAddress.includes(':') ? 6 : 4, address: options.originAddress },
    name: '-',
    timing: { start: 0, stop: 0 },
    media: [],
  };
  const names = new Set<string>();
  for (const content of contents) {
    const name = tokenAttr(content, 'name', 'content name');
    check(!names.has(name), 'content name (duplicate)');
    names.add(name);
    session.media.push(mediaOf(content, name, options.writerIsInitiator));
  }
  const groups = jingle.getChildren('group', NS_GROUPING);
  check(groups.length <= LIMITS.maxContents, 'number of groups');
  for (const group of groups) {
    const semantics = tokenAttr(group, 'semantics', 'group semantics');
    const mids = group.getChildren('content').map((c) => tokenAttr(c, 'name', 'group content name'));
    check(mids.length > 0 && mids.length <= LIMITS.maxContents && mids.every((m) => names.has(m)), 'group contents');
    (session.groups ??= []).push({ type: semantics, mids: mids.join(' ') });
  }
  return write(session);
}

function mediaOf(content: Element, name: string, writerIsInitiator: boolean): MediaDescription {
  const desc = content.getChild('description', NS_RTP);
  check(desc !== undefined, 'content without an RTP description');
  const media = desc!.attrs.media;
  check(media === 'audio' || media === 'video', 'media');
  const transport = content.getChild('transport', NS_ICE_UDP);
  const m: MediaDescription = {
    type: media!,
    port: 9,
    protocol: 'RTP/AVP',
    rtp: [],
    fmtp: [],
    mid: name,
    direction: directionOf(content.attrs.senders, writerIsInitiator),
  };

  const payloads = desc!.getChildren('payload-type');
  check(payloads.length > 0 && payloads.length <= LIMITS.maxPayloadTypes, 'number of payload types');
  const ids: number[] = [];
  for (const pt of payloads) {
    const id = intAttr(pt, 'id', 0, 127, 'payload-type id');
    check(!ids.includes(id), 'payload-type id (duplicate)');
    ids.push(id);
    const codec = pt.attrs.name;
    const clockrate = optIntAttr(pt, 'clockrate', 1, 10_000_000, 'clockrate');
    const channels = optIntAttr(pt, 'channels', 1, 255, 'channels');
    if (codec !== undefined) {
      check(isToken(codec), 'codec name');
      check(clockrate !== undefined, 'clockrate');
      m.rtp.push({ payload: id, codec, rate: clockrate, encoding: channels !== undefined && channels > 1 ? channels : undefined });
    } else check(id < 96, 'payload-type name (dynamic types need one)');
    const params = pt.getChildren('parameter');
    check(params.length <= 32, 'number of parameters');
    if (params.length > 0) {
      const config = params.map((p) => {
        const key = tokenAttr(p, 'name', 'parameter name');
        const value = p.attrs.value ?? '';
        check(isSafeText(value) && !/[; ]/.test(value), 'parameter value');
        return value === '' ? key : `${key}=${value}`;
      }).join(';');
      m.fmtp.push({ payload: id, config });
    }
    for (const fb of pt.getChildren('rtcp-fb', NS_RTCP_FB)) addRtcpFb(m, id, fb);
  }
  for (const fb of desc!.getChildren('rtcp-fb', NS_RTCP_FB)) addRtcpFb(m, '*', fb);
  check((m.rtcpFb?.length ?? 0) <= LIMITS.maxPayloadTypes * 4, 'number of rtcp-fb');
  m.payloads = ids.join(' ');

  const exts = desc!.getChildren('rtp-hdrext', NS_HDREXT);
  check(exts.length <= LIMITS.maxExtmaps, 'number of rtp-hdrext');
  for (const ext of exts) {
    const value = intAttr(ext, 'id', 1, 255, 'rtp-hdrext id');
    const uri = wordValue(ext.attrs.uri, 'rtp-hdrext uri');
    const senders = ext.attrs.senders;
    const direction = senders === undefined || senders === 'both' ? undefined : directionOf(senders, writerIsInitiator);
    (m.ext ??= []).push({ value, uri, direction });
  }

  const sources = desc!.getChildren('source', NS_SSMA);
  check(sources.length <= LIMITS.maxSsrcs, 'number of sources');
  for (const src of sources) {
    const id = intAttr(src, 'ssrc', 0, 0xffff_ffff, 'ssrc');
    const params = src.getChildren('parameter');
    check(params.length <= 8, 'number of ssrc parameters');
    if (params.length === 0) (m.ssrcs ??= []).push({ id, attribute: 'cname', value: undefined });
    for (const p of params) {
      const attribute = tokenAttr(p, 'name', 'ssrc parameter name');
      const value = p.attrs.value;
      if (value !== undefined) check(isSafeText(value), 'ssrc parameter value');
      (m.ssrcs ??= []).push({ id, attribute, value });
    }
  }
  for (const group of desc!.getChildren('ssrc-group', NS_SSMA)) {
    const semantics = tokenAttr(group, 'semantics', 'ssrc-group semantics');
    const ssrcs = group.getChildren('source').map((s) => intAttr(s, 'ssrc', 0, 0xffff_ffff, 'ssrc'));
    check(ssrcs.length > 0 && ssrcs.length <= 16, 'ssrc-group size');
    (m.ssrcGroups ??= []).push({ semantics, ssrcs: ssrcs.join(' ') });
  }
  if (desc!.getChild('rtcp-mux') !== undefined || transport?.getChild('rtcp-mux') !== undefined) m.rtcpMux = 'rtcp-mux';

  if (transport) addTransport(m, transport);
  else m.connection = { version: 4, ip: '0.0.0.0' };
  return m;
}

function addRtcpFb(m: MediaDescription, payload: number | '*', fb: Element): void {
  const type = tokenAttr(fb, 'type', 'rtcp-fb type');
  const subtype = fb.attrs.subtype;
  if (subtype !== undefined) check(isToken(subtype), 'rtcp-fb subtype');
  (m.rtcpFb ??= []).push({ payload, type, subtype });
}

function addTransport(m: MediaDescription, transport: Element): void {
  const { ufrag, pwd } = transport.attrs;
  const ice = ufrag !== undefined || pwd !== undefined;
  if (ice) {
    check(ufrag !== undefined && isIceChars(ufrag, 4, 256), 'ice ufrag');
    check(pwd !== undefined && isIceChars(pwd, 22, 256), 'ice pwd');
    m.iceUfrag = ufrag;
    m.icePwd = pwd;
  }
  const fp = transport.getChild('fingerprint', NS_DTLS);
  if (fp) {
    const hash = tokenAttr(fp, 'hash', 'fingerprint hash');
    const value = fp.text.trim();
    check(isFingerprint(value), 'fingerprint');
    m.fingerprint = { type: hash, hash: value };
    const setup = fp.attrs.setup;
    if (setup !== undefined) {
      check(['actpass', 'active', 'passive', 'holdconn'].includes(setup), 'dtls setup');
      m.setup = setup;
    }
    m.protocol = 'UDP/TLS/RTP/SAVPF';
  } else if (ice) m.protocol = 'RTP/AVPF';
  const candidates = transport.getChildren('candidate');
  check(candidates.length <= LIMITS.maxCandidates, 'number of candidates');
  const parsed = candidates.map(candidateOf);
  // The default candidate goes into c= and m= (RFC 8839 §4.2.1.2): the one most likely to
  // work without ICE, so relayed before reflexive before host. Without ICE it is the only address.
  const rank = (c: Candidate): number => DEFAULT_CANDIDATE_ORDER.indexOf(c.type);
  const preferred = parsed.filter((c) => c.component === 1).sort((a, b) => rank(a) - rank(b) || b.priority - a.priority)[0];
  m.port = preferred?.port ?? 9;
  m.connection = { version: preferred?.ip.includes(':') ? 6 : 4, ip: preferred?.ip ?? '0.0.0.0' };
  if (ice) m.candidates = parsed;
}

export interface Candidate {
  foundation: string;
  component: number;
  transport: string;
  priority: number;
  ip: string;
  port: number;
  type: string;
  raddr?: string;
  rport?: number;
  tcptype?: string;
  generation?: number;
}

const CANDIDATE_TYPES = ['host', 'srflx', 'prflx', 'relay'];
const DEFAULT_CANDIDATE_ORDER = ['relay', 'srflx', 'host', 'prflx'];

export function candidateOf(c: Element): Candidate {
  const foundation = c.attrs.foundation;
  check(foundation !== undefined && /^[A-Za-z0-9+/]{1,32}$/.test(foundation), 'candidate foundation');
  const protocol = (c.attrs.protocol ?? '').toLowerCase();
  check(protocol === 'udp' || protocol === 'tcp', 'candidate protocol');
  const ip = c.attrs.ip;
  check(ip !== undefined && isIp(ip), 'candidate ip');
  const type = c.attrs.type ?? 'host';
  check(CANDIDATE_TYPES.includes(type), 'candidate type');
  const out: Candidate = {
    foundation: foundation!,
    component: intAttr(c, 'component', 1, 256, 'candidate component'),
    transport: protocol,
    priority: intAttr(c, 'priority', 0, 0xffff_ffff, 'candidate priority'),
    ip: ip!,
    port: intAttr(c, 'port', 0, 65_535, 'candidate port'),
    type,
  };
  check(isPort(out.port), 'candidate port');
  const raddr = c.attrs['rel-addr'];
  if (raddr !== undefined) {
    check(isIp(raddr), 'candidate rel-addr');
    out.raddr = raddr;
    out.rport = intAttr(c, 'rel-port', 0, 65_535, 'candidate rel-port');
  }
  const tcptype = c.attrs.tcptype;
  if (tcptype !== undefined) {
    check(['active', 'passive', 'so'].includes(tcptype), 'candidate tcptype');
    out.tcptype = tcptype;
  }
  out.generation = optIntAttr(c, 'generation', 0, 255, 'candidate generation');
  return out;
}

/** One a=candidate value (RFC 8839 §5.1) from a validated candidate. */
export function candidateLine(c: Candidate): string {
  let line = `candidate:${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.ip} ${c.port} typ ${c.type}`;
  if (c.raddr !== undefined) line += ` raddr ${c.raddr} rport ${c.rport}`;
  if (c.tcptype !== undefined) line += ` tcptype ${c.tcptype}`;
  if (c.generation !== undefined) line += ` generation ${c.generation}`;
  return line;
}

/**
 * The body of a trickle-ICE INFO (RFC 8840, application/trickle-ice-sdpfrag) for the
 * candidates of a Jingle transport-info.
 */
export function transportInfoToSdpFrag(jingle: Element): string {
  const contents = jingle.getChildren('content');
  check(contents.length > 0 && contents.length <= LIMITS.maxContents, 'number of contents');
  let out = '';
  for (const content of contents) {
    const name = tokenAttr(content, 'name', 'content name');
    const transport = content.getChild('transport', NS_ICE_UDP);
    check(transport !== undefined, 'transport');
    const { ufrag, pwd } = transport!.attrs;
    if (ufrag !== undefined) check(isIceChars(ufrag, 4, 256), 'ice ufrag');
    if (pwd !== undefined) check(isIceChars(pwd, 22, 256), 'ice pwd');
    const candidates = transport!.getChildren('candidate');
    check(candidates.length <= LIMITS.maxCandidates, 'number of candidates');
    if (ufrag !== undefined) out += `a=ice-ufrag:${ufrag}\r\n`;
    if (pwd !== undefined) out += `a=ice-pwd:${pwd}\r\n`;
    out += `m=audio 9 RTP/AVP 0\r\na=mid:${name}\r\n`;
    for (const c of candidates) out += `a=${candidateLine(candidateOf(c))}\r\n`;
  }
  return out;
}
