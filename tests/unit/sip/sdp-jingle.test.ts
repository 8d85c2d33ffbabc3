// SDP ⇄ Jingle: round trips of a WebRTC offer (BUNDLE, ICE, DTLS, rtcp-fb, extmap, ssrc) and
// of a plain SIP phone offer, and hostile Jingle that must never reach SDP.

import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'sdp-transform';
import { xml, type Element } from '../../../server/xml/element.ts';
import { sdpToJingle } from '../../../modules/mod_jingle_sip/sdp/sdp-to-jingle.ts';
import { GatewayInputError, jingleToSdp, transportInfoToSdpFrag } from '../../../modules/mod_jingle_sip/sdp/jingle-to-sdp.ts';
import { NS_ICE_UDP, NS_JINGLE, NS_RTP } from '../../../modules/mod_jingle_sip/sdp/jingle-ns.ts';

const fixture = (name: string): string => readFileSync(join(import.meta.dir, 'fixtures', name), 'utf8');
const writeOpts = { origin: '-', originAddress: '127.0.0.1', sessionId: 1, sessionVersion: 1, writerIsInitiator: true };
const wrap = (children: Element[]): Element => xml('jingle', { xmlns: NS_JINGLE, action: 'session-initiate', sid: 's1' }, children);

/** What an SDP says about its media, in a form independent of line order and o= values. */
function essence(sdp: string) {
  const s = parse(sdp);
  return {
    groups: s.groups,
    media: s.media.map((m) => ({
      type: m.type, port: m.port, protocol: m.protocol, payloads: String(m.payloads), rtp: m.rtp, fmtp: m.fmtp, rtcpFb: m.rtcpFb,
      mid: m.mid === undefined ? undefined : String(m.mid), direction: m.direction ?? 'sendrecv', ext: m.ext, rtcpMux: m.rtcpMux,
      ssrcs: m.ssrcs, ssrcGroups: m.ssrcGroups, ufrag: m.iceUfrag ?? s.iceUfrag, pwd: m.icePwd ?? s.icePwd,
      fingerprint: m.fingerprint ?? s.fingerprint, setup: m.setup ?? s.setup, ip: (m.connection ?? s.connection)?.ip,
      candidates: (m.candidates ?? []).map((c) => `${c.foundation} ${c.component} ${c.transport} ${c.priority} ${c.ip} ${c.port} ${c.type} ${c.raddr ?? ''}`).sort(),
    })),
  };
}

describe('SDP → Jingle → SDP', () => {
  test('a WebRTC offer keeps its codecs, feedback, extensions, sources, ICE, DTLS and BUNDLE group', () => {
    const sdp = fixture('webrtc-offer.sdp');
    const jingle = wrap(sdpToJingle(sdp, true));
    const group = jingle.getChild('group');
    expect(group?.getChildren('content').map((c) => c.attrs.name)).toEqual(['0', '1']);
    const video = jingle.getChildren('content')[1]!;
    expect(video.attrs.senders).toBe('initiator');
    expect(video.getChild('description', NS_RTP)!.getChildren('payload-type')[0]!.getChildren('rtcp-fb').length).toBe(2);
    const back = jingleToSdp(jingle, writeOpts);
    const before = essence(sdp);
    const after = essence(back);
    // The rtcp-fb attribute type changes from number to string through XML; compare as text.
    expect(JSON.stringify(after.media.map((m) => ({ ...m, rtcpFb: m.rtcpFb?.map((f) => `${f.payload} ${f.type} ${f.subtype ?? ''}`) }))))
      .toBe(JSON.stringify(before.media.map((m) => ({ ...m, rtcpFb: m.rtcpFb?.map((f) => `${f.payload} ${f.type} ${f.subtype ?? ''}`) }))));
    expect(after.groups).toEqual(before.groups);
  });

  test('a plain SIP phone offer: c=/m= become one host candidate and come back as c=/m= without ICE lines', () => {
    const sdp = fixture('sip-phone-offer.sdp');
    const contents = sdpToJingle(sdp, true);
    const transport = contents[0]!.getChild('transport', NS_ICE_UDP)!;
    expect(transport.attrs.ufrag).toBeUndefined();
    expect(transport.getChild('candidate')!.attrs).toMatchObject({ ip: '192.0.2.20', port: '40000', type: 'host' });
    const back = jingleToSdp(wrap(contents), writeOpts);
    expect(back).not.toContain('a=candidate');
    const b = essence(back).media[0]!;
    const a = essence(sdp).media[0]!;
    expect([b.port, b.ip, b.protocol, b.payloads, b.rtp, b.fmtp, b.direction]).toEqual([a.port, a.ip, a.protocol, a.payloads, a.rtp, a.fmtp, a.direction]);
  });

  test('direction depends on who wrote the SDP: sendonly from the responder is senders=responder', () => {
    const answer = fixture('sip-phone-offer.sdp').replace('a=sendrecv', 'a=sendonly');
    expect(sdpToJingle(answer, false)[0]!.attrs.senders).toBe('responder');
  });
});

function content(overrides: { pt?: Record<string, string>; param?: Record<string, string>; candidate?: Record<string, string>; transport?: Record<string, string>; name?: string } = {}): Element {
  return xml('content', { creator: 'initiator', name: overrides.name ?? 'audio' },
    xml('description', { xmlns: NS_RTP, media: 'audio' },
      xml('payload-type', { id: '0', name: 'PCMU', clockrate: '8000', ...overrides.pt }, overrides.param ? xml('parameter', overrides.param) : undefined)),
    xml('transport', { xmlns: NS_ICE_UDP, ufrag: 'abcd', pwd: 'abcdefghijklmnopqrstuvwx', ...overrides.transport },
      xml('candidate', { component: '1', foundation: '1', generation: '0', id: 'c', ip: '192.0.2.1', network: '0', port: '4000', priority: '1', protocol: 'udp', type: 'host', ...overrides.candidate })));
}

describe('hostile Jingle never reaches SDP', () => {
  const cases: Array<[string, Element]> = [
    ['CRLF in a codec name', content({ pt: { name: 'PCMU\r\na=evil' } })],
    ['CRLF in a parameter value', content({ param: { name: 'mode', value: '1\r\nm=video 1 RTP/AVP 0' } })],
    ['a ; in a parameter value', content({ param: { name: 'mode', value: '1;x=2' } })],
    ['CRLF in a candidate ip', content({ candidate: { ip: '1.2.3.4\r\na=x' } })],
    ['port out of range', content({ candidate: { port: '70000' } })],
    ['negative port', content({ candidate: { port: '-1' } })],
    ['payload id out of range', content({ pt: { id: '300' } })],
    ['CRLF in ufrag', content({ transport: { ufrag: 'ab\r\ncd' } })],
    ['short ice pwd', content({ transport: { pwd: 'short' } })],
    ['space in content name', content({ name: 'a b' })],
    ['unknown candidate type', content({ candidate: { type: 'evil' } })],
  ];
  for (const [name, c] of cases) {
    test(name, () => {
      expect(() => jingleToSdp(wrap([c]), writeOpts)).toThrow(GatewayInputError);
    });
  }

  test('too many candidates, contents and payload types are refused', () => {
    const many = content();
    const t = many.getChild('transport', NS_ICE_UDP)!;
    for (let i = 0; i < 70; i++) t.append(xml('candidate', { component: '1', foundation: '1', ip: '192.0.2.1', port: '4000', priority: '1', protocol: 'udp', type: 'host' }));
    expect(() => jingleToSdp(wrap([many]), writeOpts)).toThrow(GatewayInputError);
    expect(() => jingleToSdp(wrap(Array.from({ length: 9 }, (_, i) => content({ name: `a${i}` }))), writeOpts)).toThrow(GatewayInputError);
    expect(() => transportInfoToSdpFrag(wrap([content({ candidate: { ip: '::1\r\n' } })]))).toThrow(GatewayInputError);
  });

  test('hostile SDP from a SIP peer is refused, not translated', () => {
    expect(() => sdpToJingle('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\na=rtpmap:0 PC\x01MU/8000\r\n', true)).toThrow(GatewayInputError);
    expect(() => sdpToJingle('not sdp at all', true)).toThrow(GatewayInputError);
    expect(() => sdpToJingle('v=0\r\ns=-\r\n', true)).toThrow(GatewayInputError);
  });
});
