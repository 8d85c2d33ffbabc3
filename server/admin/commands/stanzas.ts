// Sending stanzas as the server (or as any address: this is an administrator's tool).
// A raw stanza is accepted only as the tokenizer parses it (stanza-input.ts).

import { Packet } from '../../core/packet.ts';
import { JidError, parseJid, type Jid } from '../../jid.ts';
import { Element } from '../../xml/element.ts';
import { defineCommand, fail } from '../command.ts';
import { parseOneStanza } from '../stanza-input.ts';
import { notRunning } from './sessions.ts';

export const sendMessage = defineCommand({
  name: ['stanza', 'send-message'],
  group: 'stanzas',
  summary: 'send a message with a body',
  args: [
    { name: 'from', type: 'jid', description: 'the sender (a served host for a server notice)', example: 'localhost' },
    { name: 'to', type: 'jid', description: 'the recipient', example: 'alice@localhost' },
    { name: 'body', type: 'string', description: 'the text', example: 'The server restarts at 18:00.' },
    { name: 'type', type: 'enum', values: ['chat', 'normal', 'headline'], description: 'the message type (normal when left out)', example: 'chat', optional: true },
  ],
  returns: 'nothing',
  access: 'admin',
  async run(node, args) {
    if (!node.core) return notRunning();
    const from = parseJid(args.from as string);
    const to = parseJid(args.to as string);
    const el = new Element('message', { from: from.toString(), to: to.toString(), type: args.type as string | undefined });
    el.c('body').t(args.body as string);
    node.core.router.route(Packet.fromElement(el, from, to));
    return { ok: true, message: `sent to ${to}` };
  },
});

export const sendRaw = defineCommand({
  name: ['stanza', 'send-raw'],
  group: 'stanzas',
  summary: "route one stanza as given; it must carry valid 'from' and 'to' addresses",
  args: [
    { name: 'xml', type: 'xml', description: 'one message, presence or iq element', example: "<message from='localhost' to='alice@localhost'><body>hi</body></message>" },
  ],
  returns: 'nothing',
  access: 'admin',
  async run(node, args) {
    if (!node.core) return notRunning();
    const parsed = parseOneStanza(args.xml as string);
    if (!parsed.ok) return fail('invalid', parsed.message);
    const el = parsed.element;
    const from = addressOf(el, 'from');
    const to = addressOf(el, 'to');
    if (typeof from === 'string') return fail('invalid', from);
    if (typeof to === 'string') return fail('invalid', to);
    node.core.router.route(Packet.fromElement(el, from, to));
    return { ok: true, message: `routed <${el.localName}/> to ${to}` };
  },
});

function addressOf(el: Element, attr: 'from' | 'to'): Jid | string {
  const value = el.attrs[attr];
  if (value === undefined) return `the stanza needs a '${attr}' address`;
  try {
    return parseJid(value);
  } catch (err) {
    if (err instanceof JidError) return `'${attr}': ${err.message}`;
    throw err;
  }
}

export const STANZA_COMMANDS = [sendMessage, sendRaw];
