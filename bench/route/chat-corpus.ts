// Chat stanzas as clients send them: a body of a few words to a paragraph, often with a
// chat state, a receipt request and an origin-id (XEP-0085, XEP-0184, XEP-0359), some with
// escaped characters and non-ASCII text. The client's stream header declares jabber:client,
// so the stanzas carry no xmlns of their own — the splice has to re-declare it.

export const CHAT_HEADER =
  "<?xml version='1.0'?><stream:stream to='localhost' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

const BODIES = [
  'ok',
  'On my way, see you in ten minutes.',
  'Did you see the build failed again? The flaky test is back & it is the same one as last week.',
  'Ça marche — je t’envoie le fichier ce soir 🙂',
  'Here is the plan: 1) merge the parser fix, 2) tag the release, 3) update the docs <after> lunch. Any objections before I start?',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris.',
];

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `count` stanzas cycling through bodies and extension sets. */
export function chatStanzas(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const body = `<body>${escapeText(BODIES[i % BODIES.length]!)}</body>`;
    const to = `r${i % 50}@localhost/phone`;
    const id = `c${i.toString(36)}-${(i * 7919).toString(16)}`;
    switch (i % 3) {
      case 0:
        out.push(`<message type='chat' to='${to}' id='${id}'>${body}</message>`);
        break;
      case 1:
        out.push(
          `<message type='chat' to='${to}' id='${id}'>${body}<active xmlns='http://jabber.org/protocol/chatstates'/>` +
            `<request xmlns='urn:xmpp:receipts'/><origin-id xmlns='urn:xmpp:sid:0' id='${id}'/></message>`,
        );
        break;
      default:
        out.push(`<message xml:lang='fr' type='chat' to='${to}' id='${id}'>${body}<markable xmlns='urn:xmpp:chat-markers:0'/></message>`);
    }
  }
  return out;
}
