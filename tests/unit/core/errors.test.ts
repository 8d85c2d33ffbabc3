import { describe, expect, test } from 'bun:test';
import { STANZA_ERROR_DEFAULT_TYPES, StanzaError, StreamError, errorReplyFor } from '../../../server/errors.ts';
import { xml } from '../../../server/xml/element.ts';
import { normalized, parseXml } from './fakes.ts';

describe('StanzaError', () => {
  test('renders condition, default type and text per RFC 6120 §8.3', () => {
    const err = new StanzaError('item-not-found', { text: 'no such node' });
    expect(normalized(err.toElement().toString())).toBe(normalized(
      "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no such node</text></error>",
    ));
  });

  test('default types follow RFC 6120 §8.3.3', () => {
    expect(new StanzaError('bad-request').type).toBe('modify');
    expect(new StanzaError('forbidden').type).toBe('auth');
    expect(new StanzaError('service-unavailable').type).toBe('cancel');
    expect(new StanzaError('resource-constraint').type).toBe('wait');
    expect(new StanzaError('not-authorized').type).toBe('auth');
    expect(Object.keys(STANZA_ERROR_DEFAULT_TYPES)).toHaveLength(22);
  });

  test('type override, by, redirect URI and application condition', () => {
    const app = xml('unsupported', { xmlns: 'http://jabber.org/protocol/pubsub#errors', feature: 'publish' });
    const el = new StanzaError('redirect', { type: 'cancel', uri: 'xmpp:other@example.com', appCondition: app, by: 'example.com' }).toElement();
    expect(normalized(el.toString())).toBe(normalized(
      "<error by='example.com' type='cancel'><redirect xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>xmpp:other@example.com</redirect>" +
      "<unsupported feature='publish' xmlns='http://jabber.org/protocol/pubsub#errors'/></error>",
    ));
  });

  test('fromStanza reads what toElement writes, and survives garbage', () => {
    const stanza = xml('iq', { type: 'error' }, new StanzaError('conflict', { text: 'taken', type: 'modify' }).toElement());
    const back = StanzaError.fromStanza(stanza);
    expect([back.condition, back.type, back.text]).toEqual(['conflict', 'modify', 'taken']);
    expect(StanzaError.fromStanza(parseXml("<iq type='error'/>")).condition).toBe('undefined-condition');
    const odd = StanzaError.fromStanza(parseXml("<iq type='error'><error type='bogus'><made-up xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));
    expect([odd.condition, odd.type]).toEqual(['undefined-condition', 'cancel']);
  });
});

describe('errorReplyFor', () => {
  test('swaps addresses, keeps id and payload, sets type=error (RFC 6120 §8.3.1)', () => {
    const iq = parseXml("<iq from='a@example.com/r' to='example.com' type='get' id='q1'><query xmlns='jabber:iq:version'/></iq>");
    const reply = errorReplyFor(iq, new StanzaError('service-unavailable'))!;
    expect(normalized(reply.toString())).toBe(normalized(
      "<iq from='example.com' id='q1' to='a@example.com/r' type='error'><query xmlns='jabber:iq:version'/>" +
      "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
    ));
    // The original is untouched.
    expect(iq.attrs.type).toBe('get');
    expect(iq.children).toHaveLength(1);
  });

  test('can leave the original payload out', () => {
    const msg = parseXml("<message from='a@example.com' to='b@example.com'><body>hi</body></message>");
    const reply = errorReplyFor(msg, new StanzaError('service-unavailable'), { includeOriginal: false })!;
    expect(reply.getChild('body')).toBeUndefined();
    expect(reply.getChild('error')).toBeDefined();
  });

  test('refuses to answer an error with an error', () => {
    const err = parseXml("<message from='a@example.com' to='b@example.com' type='error'><error type='cancel'/></message>");
    expect(errorReplyFor(err, new StanzaError('service-unavailable'))).toBeUndefined();
  });
});

describe('StreamError', () => {
  test('renders <stream:error> per RFC 6120 §4.9', () => {
    expect(new StreamError('conflict', { text: 'Replaced by new connection' }).toString()).toBe(
      "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>Replaced by new connection</text></stream:error>",
    );
  });

  test('see-other-host carries the host; framing without a header declares the prefix', () => {
    const el = new StreamError('see-other-host', { otherHost: 'other.example.com:5222' }).toElement({ declarePrefix: true });
    expect(el.toString()).toBe(
      "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>" +
      "<see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>other.example.com:5222</see-other-host></stream:error>",
    );
  });
});

describe('StanzaError.fromStanza with hostile input', () => {
  test('element names that are Object.prototype keys are not conditions', () => {
    const e = StanzaError.fromStanza(parseXml("<message type='error'><error type='cancel'><constructor xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"));
    expect([e.condition, e.type]).toEqual(['undefined-condition', 'cancel']);
  });
});
