// The "plain relay" ceiling: the least a server could do for the same conversation. It
// answers the load client's login with fixed bytes (no XML parsing, no authentication
// check, no routing table beyond s<i> ↔ r<i>), then writes every chunk a client sends,
// unparsed, to its partner's socket. Whatever Meerkat does beyond this costs throughput.
// With --by-to (the load benchmark's random chat), it cuts the text at each </message> and
// writes the message to the socket of the user named in its 'to' (bare or full JID): the
// least a router can do when the partner is not fixed.
//
//   bun bench/route/relay.ts --port 5299 [--cert cert.pem --key key.pem] [--by-to]
//
// Prints "relay ready <port>" once listening; stops on SIGTERM/SIGINT.

import type { Socket } from 'bun';
import { NS_BIND, NS_CLIENT, NS_SASL, NS_STREAM, partnerName } from './protocol.ts';

const DOMAIN = 'localhost';

type Phase = 'header' | 'auth' | 'restart' | 'bind' | 'sync' | 'relay';

class Peer {
  phase: Phase = 'header';
  text = '';
  user = '';
  /** Per socket: a character may be split across two reads. */
  readonly decoder = new TextDecoder();
  private queue: Uint8Array[] = [];
  constructor(readonly socket: Socket<Peer>) {}

  write(bytes: Uint8Array | string): void {
    const data = typeof bytes === 'string' ? encoder.encode(bytes) : bytes;
    if (this.queue.length > 0) {
      // The read buffer is reused after the callback: keep a copy.
      this.queue.push(data.slice());
      return;
    }
    const n = this.socket.write(data);
    if (n < data.length) this.queue.push(data.slice(Math.max(0, n)));
  }

  flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.queue[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const peers = new Map<string, Peer>();
let dropped = 0;

function header(id: string): string {
  return `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' id='${id}' from='${DOMAIN}' version='1.0' xml:lang='en'>`;
}

/** Consumes text up to and including `marker`; undefined while it has not arrived. */
function take(peer: Peer, marker: string): string | undefined {
  const at = peer.text.indexOf(marker);
  if (at < 0) return undefined;
  const head = peer.text.slice(0, at + marker.length);
  peer.text = peer.text.slice(at + marker.length);
  return head;
}

function takeHeader(peer: Peer): boolean {
  const start = peer.text.indexOf('<stream:stream');
  if (start < 0) return false;
  const end = peer.text.indexOf('>', start);
  if (end < 0) return false;
  peer.text = peer.text.slice(end + 1);
  return true;
}

const attr = (text: string, name: string): string => new RegExp(`${name}=['"]([^'"]*)['"]`).exec(text)?.[1] ?? '';

/** Runs the login conversation as far as the received text allows. */
function login(peer: Peer): void {
  for (;;) {
    switch (peer.phase) {
      case 'header':
        if (!takeHeader(peer)) return;
        peer.write(header('a') + `<stream:features><mechanisms xmlns='${NS_SASL}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`);
        peer.phase = 'auth';
        break;
      case 'auth': {
        const auth = take(peer, '</auth>');
        if (auth === undefined) return;
        const payload = auth.slice(auth.indexOf('>') + 1, auth.lastIndexOf('<'));
        peer.user = Buffer.from(payload, 'base64').toString('utf8').split('\0')[1] ?? '';
        peer.write(`<success xmlns='${NS_SASL}'/>`);
        peer.phase = 'restart';
        break;
      }
      case 'restart':
        if (!takeHeader(peer)) return;
        peer.write(header('b') + `<stream:features><bind xmlns='${NS_BIND}'/></stream:features>`);
        peer.phase = 'bind';
        break;
      case 'bind': {
        const iq = take(peer, '</iq>');
        if (iq === undefined) return;
        const resource = /<resource>([^<]*)<\/resource>/.exec(iq)?.[1] ?? 'relay';
        peer.write(`<iq type='result' id='${attr(iq, 'id')}'><bind xmlns='${NS_BIND}'><jid>${peer.user}@${DOMAIN}/${resource}</jid></bind></iq>`);
        peers.set(peer.user, peer);
        peer.phase = 'sync';
        break;
      }
      case 'sync': {
        // Initial presence, then a ping: answer the ping, and from then on only relay.
        const iq = take(peer, '</iq>');
        if (iq === undefined) return;
        const start = iq.lastIndexOf('<iq');
        peer.write(`<iq type='result' id='${attr(iq.slice(start), 'id')}' from='${DOMAIN}'/>`);
        peer.phase = 'relay';
        const early = peer.text;
        peer.text = '';
        if (early !== '') relay(peer, encoder.encode(early));
        return;
      }
      case 'relay':
        return;
    }
  }
}

function relay(peer: Peer, bytes: Uint8Array): void {
  if (byTo) {
    relayByTo(peer, peer.decoder.decode(bytes, { stream: true }));
    return;
  }
  const partner = peers.get(partnerName(peer.user) ?? '');
  if (partner === undefined || partner.phase !== 'relay') {
    dropped++;
    return;
  }
  partner.write(bytes);
}

const TO = /\sto=['"]([^@'"]+)@/;

function relayByTo(peer: Peer, text: string): void {
  peer.text += text;
  let from = 0;
  for (;;) {
    const end = peer.text.indexOf('</message>', from);
    if (end < 0) break;
    const stanza = peer.text.slice(from, end + 10);
    from = end + 10;
    const target = peers.get(TO.exec(stanza)?.[1] ?? '');
    if (target === undefined || target.phase !== 'relay') dropped++;
    else target.write(stanza);
  }
  peer.text = peer.text.slice(from);
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(flag('--port') ?? '5299');
const byTo = process.argv.includes('--by-to');
const certFile = flag('--cert');
const keyFile = flag('--key');
const tls = certFile && keyFile ? { cert: Bun.file(certFile), key: Bun.file(keyFile) } : undefined;

const server = Bun.listen<Peer>({
  hostname: '127.0.0.1',
  port,
  tls,
  socket: {
    open(socket) {
      socket.data = new Peer(socket);
    },
    data(socket, bytes) {
      const peer = socket.data;
      if (peer.phase === 'relay') {
        relay(peer, bytes);
        return;
      }
      peer.text += decoder.decode(bytes);
      login(peer);
    },
    drain(socket) {
      socket.data.flush();
    },
    close(socket) {
      const peer = socket.data;
      if (peers.get(peer.user) === peer) peers.delete(peer.user);
    },
    error() {},
  },
});

process.stdout.write(`relay ready ${server.port}\n`);
const stop = (): void => {
  server.stop(true);
  if (dropped > 0) process.stderr.write(`relay: ${dropped} chunks had no partner to go to\n`);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
