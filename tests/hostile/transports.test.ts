// Rule 1 and 3 of docs/security.md: every entry point feeds the same strict tokenizer, so
// each error case of the conformance table (tests/fixtures/parser/conformance.json) ends
// the stream with the tokenizer's condition over plain TCP, direct TLS, WebSocket frames
// and BOSH bodies, and every pre-authentication limit holds on each of them.
//
// What each transport is expected to say is derived from the tokenizer itself: a case
// whose bytes complete a stanza before the error may instead be refused for that stanza
// (it is the first thing the stream sees); a WebSocket frame is a document of its own
// (RFC 7395), so a frame is judged as a complete document; a BOSH body that is not well-formed
// XML is a binding error (XEP-0124 §17 bad-request), the others end as the stream error.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import table from '../fixtures/parser/conformance.json' with { type: 'json' };
import { inputBytes, runCase, runWhole, type ConformanceCase, type ConformanceTable } from '../unit/parser/harness.ts';
import { PREAUTH_LIMITS } from '../../parser-wasm/host/limits.ts';
import { startTestServer, type TestServer } from '../helpers/test-server.ts';
import { freePort } from '../helpers/ports.ts';
import { header, HostileSocket, streamErrorCondition } from './hostile-socket.ts';
import { BoshClient, WsClient } from './transport-clients.ts';

const conformance = table as ConformanceTable;
const errorCases = conformance.cases.filter((c) => c.expect.some((e) => e.startsWith('error:')) && !c.limits && !c.finish);

/** Conditions a stream may answer with when a complete stanza precedes the bad bytes. */
const FIRST_STANZA_REFUSALS = ['unsupported-stanza-type', 'not-authorized'];

type Expectation = { kind: 'error'; conditions: string[] } | { kind: 'closed' };

function judge(events: string[]): Expectation {
  const first = events.find((e) => /^(stanza:|close$|error:)/.test(e));
  const error = events.find((e) => e.startsWith('error:'));
  const condition = error ? error.split(/[:@]/)[1]! : '';
  if (first === 'close') return { kind: 'closed' };
  if (first?.startsWith('stanza:')) return { kind: 'error', conditions: [condition, ...FIRST_STANZA_REFUSALS] };
  return { kind: 'error', conditions: [condition] };
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

let ts: TestServer;
let httpPort: number;

beforeAll(async () => {
  httpPort = await freePort();
  ts = await startTestServer({ toml: `[[listen.http]]\nport = ${httpPort}\nip_address = "127.0.0.1"\n` });
});
afterAll(() => ts.stop());

async function overTcp(bytes: Uint8Array, withHeader: boolean, tls: boolean): Promise<string> {
  const s = await HostileSocket.connect(tls ? ts.tlsPort : ts.c2sPort, tls ? { ca: ts.ca } : {});
  if (withHeader) s.send(header());
  s.send(bytes);
  return s.waitForClose(3000);
}

function expectOutcome(text: string, expected: Expectation): void {
  if (expected.kind === 'closed') {
    expect(streamErrorCondition(text)).toBeUndefined();
  } else {
    expect(expected.conditions).toContain(streamErrorCondition(text) ?? '(no stream error)');
  }
}

describe('conformance error cases over TCP and direct TLS', () => {
  for (const c of errorCases.filter((c) => c.mode === undefined)) {
    const expected = judge(runCase(conformance, c));
    test(c.name, async () => {
      const bytes = inputBytes(c.input);
      expectOutcome(await overTcp(bytes, c.header === true, false), expected);
      expectOutcome(await overTcp(bytes, c.header === true, true), expected);
    });
  }
});

describe('conformance error cases as WebSocket frames', () => {
  for (const c of errorCases.filter((c) => c.header === true || c.mode === 'document')) {
    const bytes = inputBytes(c.input);
    const text = utf8(bytes);
    // A text frame is UTF-8 by definition; other bytes are a binary frame (tested below).
    if (text === undefined) continue;
    const events = runWhole(bytes, { mode: 'document', finish: true }).events;
    // A frame without any element is the transport's own refusal (RFC 7395 §3.3.3: one element per frame).
    const expected: Expectation = events.length === 0 ? { kind: 'error', conditions: ['not-well-formed'] } : judge(events);
    test(c.name, async () => {
      const ws = await WsClient.connect(httpPort);
      if (c.header) await ws.open();
      ws.send(text);
      await ws.waitForClose(3000);
      expectOutcome(ws.text, expected);
    });
  }

  test('bytes that are not UTF-8 (a binary frame) end the stream; nothing is processed', async () => {
    const ws = await WsClient.connect(httpPort);
    await ws.open();
    ws.send(inputBytes("<message to='x@localhost'><body>\\xC0\\xAF</body></message>"));
    await ws.waitForClose(3000);
    expect(ws.text).not.toContain('<message');
  });
});

describe('conformance error cases in BOSH bodies', () => {
  for (const c of errorCases.filter((c) => c.header === true || c.mode === 'document')) {
    const inStream = judge(c.header ? runCase(conformance, c) : []);
    // A stream close inside a body is a mismatched end tag: not well-formed either.
    const bindingError = c.mode === 'document' || inStream.kind === 'closed'
      || (inStream.kind === 'error' && ['not-well-formed', 'unsupported-encoding'].includes(inStream.conditions[0]!));
    test(c.name, async () => {
      const bosh = new BoshClient(httpPort);
      let reply: string;
      if (c.header) {
        await bosh.create();
        reply = await bosh.send(inputBytes(c.input));
      } else {
        reply = await bosh.post(inputBytes(c.input));
      }
      expect(reply).toContain("type='terminate'");
      if (bindingError) {
        expect(/condition='([^']+)'/.exec(reply)?.[1]).toBe('bad-request');
      } else {
        expect(reply).toContain("condition='remote-stream-error'");
        expectOutcome(reply, inStream);
      }
    });
  }
});

describe('pre-authentication limits on every transport', () => {
  const L = PREAUTH_LIMITS;
  const over: Array<[string, string]> = [
    ['stanza bytes', `<message><body>${'a'.repeat(L.maxStanzaBytes)}</body></message>`],
    ['start-tag bytes', `<message a='${'b'.repeat(L.maxStartTagBytes)}'/>`],
    ['attributes per element', `<message ${Array.from({ length: L.maxAttributes + 1 }, (_, i) => `a${i}='1'`).join(' ')}/>`],
    ['depth', `${'<x>'.repeat(L.maxDepth + 1)}${'</x>'.repeat(L.maxDepth + 1)}`],
    ['elements per stanza', `<message>${'<x/>'.repeat(L.maxElementsPerStanza + 1)}</message>`],
    ['name length', `<${'n'.repeat(L.maxNameLength + 1)}/>`],
  ];
  for (const [limit, stanza] of over) {
    test(`${limit}: policy-violation over TCP, direct TLS, WebSocket and BOSH`, async () => {
      const bytes = new TextEncoder().encode(stanza);
      expect(streamErrorCondition(await overTcp(bytes, true, false))).toBe('policy-violation');
      expect(streamErrorCondition(await overTcp(bytes, true, true))).toBe('policy-violation');
      const ws = await WsClient.connect(httpPort);
      await ws.open();
      ws.send(stanza);
      await ws.waitForClose(3000);
      expect(streamErrorCondition(ws.text)).toBe('policy-violation');
      const bosh = new BoshClient(httpPort);
      await bosh.create();
      const reply = await bosh.send(stanza);
      expect(reply).toContain("condition='remote-stream-error'");
      expect(streamErrorCondition(reply)).toBe('policy-violation');
    });
  }
});
