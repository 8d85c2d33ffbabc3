// A deterministic stream of small chat stanzas (150–300 bytes, attributes, namespaces,
// some non-ASCII), shared by the throughput benchmark and the loader comparison.

export function chatStream(targetBytes: number, seed = 1): { bytes: Uint8Array; stanzas: number } {
  let x = seed;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  const words = ['hello', 'meet', 'at', 'noon', 'café', 'ok', 'see', 'you', '日本', 'tomorrow', 'great', '🙂', 'thanks'];
  const parts: string[] = ["<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>"];
  let size = parts[0].length;
  let stanzas = 0;
  while (size < targetBytes) {
    let body = '';
    const n = 3 + rnd(12);
    for (let i = 0; i < n; i++) body += (i ? ' ' : '') + words[rnd(words.length)];
    if (rnd(5) === 0) body += ' &amp; more';
    let s: string;
    switch (rnd(3)) {
      case 0:
        s = `<message to='user${rnd(1000)}@example.com/res' from='u${rnd(1000)}@example.com/phone' type='chat' id='m${stanzas}'><body>${body}</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`;
        break;
      case 1:
        s = `<message to="room${rnd(50)}@conference.example.com" type="groupchat" id="g${stanzas}" xml:lang="en"><body>${body}</body><origin-id xmlns="urn:xmpp:sid:0" id="o${rnd(99999)}"/></message>`;
        break;
      default:
        s = `<presence from='u${rnd(1000)}@example.com/laptop' id='p${stanzas}'><show>away</show><status>${body}</status><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://meerkat.im' ver='abc${rnd(100)}='/></presence>`;
    }
    if (rnd(10) === 0) s += ' ';
    parts.push(s);
    size += s.length;
    stanzas++;
  }
  return { bytes: new TextEncoder().encode(parts.join('')), stanzas };
}

/** Chunk boundaries (1–4096 bytes), deterministic. */
export function chunkSizes(total: number, seed = 7): number[] {
  let x = seed;
  const sizes: number[] = [];
  for (let at = 0; at < total;) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % 4096);
    sizes.push(n);
    at += n;
  }
  return sizes;
}
