// The mixed stream: the large and deep stanzas a server also has to carry. Each round holds
// a 500-item roster result, a MAM page whose messages nest 6 deep, a Jingle
// session-initiate with ICE candidates, a vCard with a 30 KB base64 photo, and chat in
// CJK and emoji.

import type { Markup } from './markup.ts';
import type { Random } from './random.ts';
import { bareJid, CJK, EMOJI, ENGLISH, fullJid, GROUPS, NAMES, sentence, stanzaId } from './words.ts';

export function writeMixedStanzas(markup: Markup, random: Random, targetBytes: number): void {
  const start = markup.totals.stanzaBytes;
  while (markup.totals.stanzaBytes - start < targetBytes) {
    rosterResult(markup, random);
    mamPage(markup, random, 20);
    jingleInitiate(markup, random);
    vcardResult(markup, random);
    for (let i = 0; i < 30; i++) intlMessage(markup, random);
  }
}

function rosterResult(markup: Markup, random: Random): void {
  const items: string[] = [];
  for (let i = 0; i < 500; i++) {
    const name = random.chance(0.3) ? random.pick(CJK) : random.pick(NAMES) + ' ' + random.int(1, 99);
    const groups = random.chance(0.7) ? [markup.el('group', {}, markup.text(random.pick(GROUPS)))] : [];
    items.push(markup.el('item', {
      jid: bareJid(random),
      name,
      subscription: random.pick(['both', 'to', 'from', 'none']),
    }, ...groups));
  }
  const query = markup.el('query', { xmlns: 'jabber:iq:roster', ver: 'ver' + random.int(1, 9999) }, ...items);
  markup.stanza(markup.el('iq', { type: 'result', id: stanzaId(random), to: fullJid(random) }, query), true);
}

function mamPage(markup: Markup, random: Random, size: number): void {
  const queryId = random.hex(6);
  const owner = fullJid(random);
  for (let i = 0; i < size; i++) {
    // message > result > forwarded > message > html > body: six levels.
    const xhtml = markup.el('html', { xmlns: 'http://jabber.org/protocol/xhtml-im' },
      markup.el('body', { xmlns: 'http://www.w3.org/1999/xhtml' }, markup.text(sentence(random, 60, [ENGLISH, CJK]))));
    const inner = markup.el('message', {
      xmlns: 'jabber:client', from: fullJid(random), to: owner, type: 'chat', id: stanzaId(random),
    }, markup.el('body', {}, markup.text(sentence(random, 60, [ENGLISH, CJK, EMOJI]))), xhtml);
    const forwarded = markup.el('forwarded', { xmlns: 'urn:xmpp:forward:0' },
      markup.el('delay', { xmlns: 'urn:xmpp:delay', stamp: '2024-03-' + String(random.int(10, 28)) + 'T12:' + String(random.int(10, 59)) + ':00Z' }),
      inner);
    const result = markup.el('result', { xmlns: 'urn:xmpp:mam:2', queryid: queryId, id: random.hex(16) }, forwarded);
    // Archive results carry no id of their own on the outer message.
    markup.stanza(markup.el('message', { to: owner }, result), false);
  }
  const set = markup.el('set', { xmlns: 'http://jabber.org/protocol/rsm' },
    markup.el('first', { index: '0' }, markup.text(random.hex(16))),
    markup.el('last', {}, markup.text(random.hex(16))),
    markup.el('count', {}, markup.text(String(random.int(100, 5000)))));
  const fin = markup.el('fin', { xmlns: 'urn:xmpp:mam:2', complete: 'false' }, set);
  markup.stanza(markup.el('iq', { type: 'result', id: stanzaId(random), to: owner }, fin), true);
}

function jingleInitiate(markup: Markup, random: Random): void {
  const codecs: [number, string, number, number][] = [
    [111, 'opus', 48000, 2], [103, 'ISAC', 16000, 1], [9, 'G722', 8000, 1],
    [0, 'PCMU', 8000, 1], [8, 'PCMA', 8000, 1], [13, 'CN', 8000, 1],
  ];
  const payloads = codecs.map(([id, name, clockrate, channels]) => markup.el('payload-type',
    { id: String(id), name, clockrate: String(clockrate), channels: String(channels) },
    markup.el('parameter', { name: 'minptime', value: '10' }),
    markup.el('rtcp-fb', { xmlns: 'urn:xmpp:jingle:apps:rtp:rtcp-fb:0', type: 'transport-cc' })));
  const description = markup.el('description', { xmlns: 'urn:xmpp:jingle:apps:rtp:1', media: 'audio', ssrc: String(random.int(1, 2 ** 31)) },
    ...payloads,
    markup.el('rtp-hdrext', { xmlns: 'urn:xmpp:jingle:apps:rtp:rtp-hdrext:0', id: '1', uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' }));
  const candidates: string[] = [];
  for (let i = 0; i < 8; i++) {
    candidates.push(markup.el('candidate', {
      component: '1', foundation: String(random.int(1, 4)), generation: '0', id: random.hex(10),
      ip: `192.0.2.${random.int(1, 254)}`, network: '1', port: String(random.int(1024, 65535)),
      priority: String(random.int(1, 2 ** 31)), protocol: 'udp', type: random.pick(['host', 'srflx', 'relay']),
    }));
  }
  const fingerprint = markup.el('fingerprint', { xmlns: 'urn:xmpp:jingle:apps:dtls:0', hash: 'sha-256', setup: 'actpass' },
    markup.text(Array.from({ length: 32 }, () => random.hex(2).toUpperCase()).join(':')));
  const transport = markup.el('transport', { xmlns: 'urn:xmpp:jingle:transports:ice-udp:1', pwd: random.hex(22), ufrag: random.hex(4) },
    fingerprint, ...candidates);
  const content = markup.el('content', { creator: 'initiator', name: 'voice' }, description, transport);
  const jingle = markup.el('jingle', { xmlns: 'urn:xmpp:jingle:1', action: 'session-initiate', initiator: fullJid(random), sid: random.hex(12) }, content);
  markup.stanza(markup.el('iq', { type: 'set', id: stanzaId(random), from: fullJid(random), to: fullJid(random) }, jingle), true);
}

function vcardResult(markup: Markup, random: Random): void {
  // 22.5 KB of bytes is 30 KB of base64, wrapped at 76 columns as vCard clients do.
  let binary = '';
  for (let i = 0; i < 22_500; i++) binary += String.fromCharCode(random.int(0, 255));
  const base64 = btoa(binary).replace(/.{76}/g, '$&\n');
  const vcard = markup.el('vCard', { xmlns: 'vcard-temp' },
    markup.el('FN', {}, markup.text(random.pick(CJK) + ' ' + random.pick(EMOJI))),
    markup.el('N', {}, markup.el('FAMILY', {}, markup.text('Capulet')), markup.el('GIVEN', {}, markup.text('Juliet'))),
    markup.el('NICKNAME', {}, markup.text(random.pick(CJK))),
    markup.el('PHOTO', {}, markup.el('TYPE', {}, markup.text('image/png')), markup.el('BINVAL', {}, markup.text(base64))));
  markup.stanza(markup.el('iq', { type: 'result', id: stanzaId(random), from: bareJid(random), to: fullJid(random) }, vcard), true);
}

function intlMessage(markup: Markup, random: Random): void {
  const body = sentence(random, random.int(10, 120), [CJK, CJK, EMOJI, ENGLISH]);
  const lang = random.pick(['zh', 'ja', 'ko']);
  const hasId = random.chance(0.8);
  const xml = markup.el('message', { to: fullJid(random), from: fullJid(random), type: 'chat', id: hasId ? stanzaId(random) : undefined, 'xml:lang': lang },
    markup.el('body', {}, markup.text(body)),
    markup.el('markable', { xmlns: 'urn:xmpp:chat-markers:0' }));
  markup.stanza(xml, hasId);
}
