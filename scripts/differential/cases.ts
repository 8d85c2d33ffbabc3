// Hostile byte streams sent to every server in the differential check. Each is what a
// client sends on a fresh plaintext c2s connection.

export interface HostileCase {
  name: string;
  bytes: (host: string) => string | Uint8Array;
}

const header = (host: string) =>
  `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${host}' version='1.0'>`;
const inStream = (payload: string) => (host: string) => header(host) + payload;

export const CASES: HostileCase[] = [
  { name: 'DOCTYPE before the stream (billion laughs)', bytes: (h) => `<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>` + header(h) },
  { name: 'comment inside a stanza', bytes: inStream("<message><!-- hi --></message>") },
  { name: 'processing instruction', bytes: inStream("<?foo bar?>") },
  { name: 'undeclared entity', bytes: inStream('<message><body>&nbsp;</body></message>') },
  { name: 'invalid UTF-8', bytes: (h) => new Uint8Array([...new TextEncoder().encode(header(h) + '<message><body>'), 0xc0, 0xaf, ...new TextEncoder().encode('</body></message>')]) },
  { name: 'NUL character reference', bytes: inStream('<message><body>&#0;</body></message>') },
  { name: 'mismatched end tag', bytes: inStream('<message></iq>') },
  { name: 'undeclared prefix', bytes: inStream('<foo:bar/>') },
  { name: '20 KB stanza before authentication', bytes: inStream(`<message><body>${'a'.repeat(20_000)}</body></message>`) },
  { name: '1 MB stanza before authentication', bytes: inStream(`<message><body>${'a'.repeat(1 << 20)}</body></message>`) },
  { name: '10,000-deep nesting', bytes: inStream('<a>'.repeat(10_000)) },
  { name: '100 attributes', bytes: inStream(`<message ${Array.from({ length: 100 }, (_, i) => `a${i}='1'`).join(' ')}/>`) },
  { name: 'stanza before authentication', bytes: inStream("<message to='x@localhost'><body>hi</body></message>") },
  { name: 'unknown top-level element', bytes: inStream('<foo xmlns="urn:foo"/>') },
  { name: 'compression request (XEP-0138)', bytes: inStream("<compress xmlns='http://jabber.org/protocol/compress'><method>zlib</method></compress>") },
  { name: 'second stream header', bytes: (h) => header(h) + header(h) },
  { name: 'unknown host', bytes: () => header('unknown.example') },
  { name: 'wrong stream namespace', bytes: (h) => `<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='${h}' version='1.0'>` },
  { name: 'HTTP request', bytes: () => 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' },
  { name: 'garbage', bytes: () => '\u0001\u0002\u0003 not xml at all' },
  { name: 'UTF-16 byte order mark', bytes: () => new Uint8Array([0xfe, 0xff, 0, 0x3c]) },
  { name: 'silence (nothing sent)', bytes: () => '' },
];
