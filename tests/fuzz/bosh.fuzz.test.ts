// The BOSH body handler (through the HTTP app, no sockets) under mutated session
// creation and session bodies: every request is answered, with a terminate or a normal
// body, never an exception, never a 5xx, never a hang.

import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { fakeServer } from '../unit/http/fake-server.ts';
import { creationBody, bodyAttr } from '../unit/http/bosh-client.ts';
import { FUZZ_PARAMS, TEST_TIMEOUT } from './budget.ts';
import { mutatedArb } from './mutate.ts';

const tokens = ['<', '>', "'", 'rid=', 'sid=', "type='terminate'", 'xmpp:restart', '<!--', '&', '<![CDATA[', '</body>', '<body', '\xC0', 'xmlns:stream'];

test('BOSH: mutated bodies are always answered cleanly', async () => {
  const server = fakeServer({ bosh: { maxWaitMs: 200 } });
  const created = await server.http.app.request('/http-bind', { method: 'POST', body: creationBody(1000) });
  const sid = bodyAttr(await created.text(), 'sid') ?? '';
  const corpus = [
    creationBody(5000),
    `<body rid='1001' sid='${sid}' xmlns='http://jabber.org/protocol/httpbind'><message to='bob@example.test'><body>hi</body></message></body>`,
    `<body rid='1002' sid='${sid}' xmlns='http://jabber.org/protocol/httpbind' xmlns:xmpp='urn:xmpp:xbosh' xmpp:restart='true'/>`,
    `<body rid='1003' sid='${sid}' type='terminate' xmlns='http://jabber.org/protocol/httpbind'><presence type='unavailable'/></body>`,
  ];
  await fc.assert(
    fc.asyncProperty(mutatedArb(corpus, tokens), async (bytes) => {
      const answer = server.http.app.request('/http-bind', { method: 'POST', body: bytes as Uint8Array<ArrayBuffer>, headers: { 'Content-Type': 'text/xml; charset=utf-8' } });
      const res = await Promise.race([answer, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 2000))]);
      expect(res).not.toBe('hang');
      const response = res as Response;
      expect(response.status).toBeLessThan(500);
      await response.text();
    }),
    FUZZ_PARAMS,
  );
}, TEST_TIMEOUT);
