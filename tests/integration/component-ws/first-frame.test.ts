// How the WebSocket endpoint tells a component from a client by the first frames.

import { expect, test } from 'bun:test';
import { firstFrameVerdict } from '../../../server/http/websocket/component-transport.ts';

test('a <stream:stream> opening, with or without an XML declaration, is a component', () => {
  expect(firstFrameVerdict(`<stream:stream xmlns='jabber:component:accept' to='c.example'>`)).toBe('component');
  expect(firstFrameVerdict(`<?xml version='1.0'?>\n<stream:stream\nxmlns='jabber:component:accept'>`)).toBe('component');
});

test('RFC 7395 <open/>, stanzas and other roots are clients', () => {
  expect(firstFrameVerdict(`<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>`)).toBe('client');
  expect(firstFrameVerdict(`<stream:streamx>`)).toBe('client');
  expect(firstFrameVerdict(`<stream>`)).toBe('client');
  expect(firstFrameVerdict(`hello`)).toBe('client');
});

test('a prefix of a component opening waits for more, but not forever', () => {
  expect(firstFrameVerdict('')).toBe('undecided');
  expect(firstFrameVerdict('  <str')).toBe('undecided');
  expect(firstFrameVerdict(`<?xml version='1.0'`)).toBe('undecided');
  expect(firstFrameVerdict(`<?xml version='1.0'?><stream:stream`)).toBe('undecided');
  expect(firstFrameVerdict(`<?xml ${' '.repeat(2000)}`)).toBe('client');
});
