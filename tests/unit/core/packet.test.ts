import { describe, expect, test } from 'bun:test';
import { Packet } from '../../../server/core/packet.ts';
import { parseJid } from '../../../server/jid.ts';
import { StanzaError } from '../../../server/errors.ts';
import { normalized, packet, parseXml, viewPacket } from './fakes.ts';

const text = (bytes: Uint8Array[] | string) => (typeof bytes === 'string' ? bytes : bytes.map((b) => new TextDecoder().decode(b)).join(''));

describe('Packet', () => {
  test('reads kind, type, id and addresses once', () => {
    const p = packet("<iq from='a@example.com/r' to='example.com' type='get' id='x1'><ping xmlns='urn:xmpp:ping'/></iq>");
    expect([p.kind, p.type, p.id, p.from.toString(), p.to.toString(), p.hops]).toEqual(['iq', 'get', 'x1', 'a@example.com/r', 'example.com', 0]);
    expect(packet("<open from='a@example.com' to='example.com'/>").kind).toBe('other');
  });

  test('an unchanged packet from a view is written by splicing the original bytes', () => {
    const { packet: p, view } = viewPacket("<message from='a@example.com/r' to='b@example.com' id='m'><body>hi</body></message>");
    expect(p.zeroCopy).toBe(true);
    const out = p.bytesFor({ from: p.from, to: parseJid('b@example.com') });
    expect(Array.isArray(out)).toBe(true);
    expect(view.spliceCalls).toBe(1);
    expect(view.toElementCalls).toBe(0);
    expect(normalized(text(out))).toBe(normalized("<message from='a@example.com/r' id='m' to='b@example.com'><body>hi</body></message>"));
  });

  test('reading the element keeps the zero-copy path; editing leaves it', () => {
    const { packet: p, view } = viewPacket("<message from='a@example.com/r' to='b@example.com'><body>hi</body></message>");
    expect(p.element().getChildText('body')).toBe('hi');
    expect(p.element()).toBe(p.element()); // materialized once
    expect(view.toElementCalls).toBe(1);
    expect(p.zeroCopy).toBe(true);
    p.edit().c('extra', { xmlns: 'urn:test' });
    expect(p.modified).toBe(true);
    expect(p.zeroCopy).toBe(false);
    const out = p.bytesFor({ from: 'a@example.com/r' });
    expect(typeof out).toBe('string');
    expect(view.spliceCalls).toBe(0);
    expect(out as string).toContain("<extra xmlns='urn:test'/>");
  });

  test('detach copies out of the view so the packet can be kept', () => {
    const { packet: p, view } = viewPacket("<message from='a@example.com/r' to='b@example.com'><body>keep</body></message>");
    p.detach();
    expect(p.zeroCopy).toBe(false);
    expect(p.modified).toBe(false);
    const out = p.bytesFor({ to: 'b@example.com' }) as string;
    expect(out).toContain('<body>keep</body>');
    expect(view.spliceCalls).toBe(0);
    expect(view.toElementCalls).toBe(1);
  });

  test('per-recipient addresses never leak into the shared element', () => {
    const p = packet("<presence from='a@example.com/r' to='a@example.com'/>");
    const copy = p.retarget(parseJid('c@example.com'));
    const out = copy.bytesFor({ from: copy.from, to: copy.to }) as string;
    expect(out).toContain("to='c@example.com'");
    expect(p.element().attrs.to).toBe('a@example.com');
    expect(copy.element()).toBe(p.element()); // same content
  });

  test('fromElement without addresses is a programming error', () => {
    expect(() => Packet.fromElement(parseXml("<message to='b@example.com'/>"))).toThrow(TypeError);
  });

  test('derive and errorReply carry the hop count forward', () => {
    const p = packet("<message from='a@example.com/r' to='b@example.com' id='m1'><body>x</body></message>");
    p.hops = 3;
    const reply = p.errorReply(new StanzaError('service-unavailable'))!;
    expect(reply.hops).toBe(4);
    expect([reply.type, reply.from.toString(), reply.to.toString()]).toEqual(['error', 'b@example.com', 'a@example.com/r']);
    expect(reply.element().attrs.to).toBe('a@example.com/r');
    expect(reply.errorReply(new StanzaError('service-unavailable'))).toBeUndefined();
    expect(packet("<iq from='a@example.com/r' to='example.com' type='result' id='1'/>").errorReply(new StanzaError('bad-request'))).toBeUndefined();
  });
});
