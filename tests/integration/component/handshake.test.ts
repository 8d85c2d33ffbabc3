// XEP-0114 stream set-up over a raw socket: the header we answer with, the handshake, and
// every refusal with its exact stream error condition.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RawClient } from '../../helpers/raw-client.ts';
import { startComponentTestServer, SECRET, type ComponentTestServer } from './server.ts';
import { componentHeader, connectComponent, digest, expectStreamError, openComponent } from './wire.ts';

let srv: ComponentTestServer;
beforeAll(async () => {
  srv = await startComponentTestServer();
});
afterAll(async () => {
  await srv.ts.stop();
});

describe('stream header', () => {
  test('the answer is in jabber:component:accept, from the component domain, with a fresh id and no version', async () => {
    const { c, header } = await openComponent(srv.plain, 'echo.localhost');
    expect(header).toContain(`xmlns='jabber:component:accept'`);
    expect(header).toContain(`xmlns:stream='http://etherx.jabber.org/streams'`);
    expect(header).toContain(`from='echo.localhost'`);
    expect(header).toMatch(/ id='[0-9a-f]{32}'/);
    expect(header).not.toContain('version=');
    c.close();
  });

  test('stream ids are 128 random bits, never repeated', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const { c, id } = await openComponent(srv.plain, 'echo.localhost');
      ids.add(id);
      c.close();
    }
    expect(ids.size).toBe(8);
  });

  test('a served user host cannot be claimed: host-unknown', async () => {
    const { c } = await openComponent(srv.plain, 'localhost');
    await expectStreamError(c, 'host-unknown');
  });

  test('no to: host-unknown', async () => {
    const { c } = await openComponent(srv.plain, undefined);
    await expectStreamError(c, 'host-unknown');
  });

  test('a to that is not a domain: host-unknown', async () => {
    const { c } = await openComponent(srv.plain, 'someone@echo.localhost');
    await expectStreamError(c, 'host-unknown');
  });

  test('the client namespace instead of the component one: invalid-namespace', async () => {
    const c = await RawClient.connect(srv.plain);
    c.send(componentHeader('echo.localhost', '', 'jabber:client'));
    await expectStreamError(c, 'invalid-namespace');
  });

  test('a root outside the streams namespace: invalid-namespace', async () => {
    const c = await RawClient.connect(srv.plain);
    c.send(`<stream:stream xmlns='jabber:component:accept' xmlns:stream='urn:example:not-streams' to='echo.localhost'>`);
    await expectStreamError(c, 'invalid-namespace');
  });
});

describe('handshake', () => {
  test('the SHA-1 of id and secret is accepted with an empty <handshake/>', async () => {
    const { c, id } = await openComponent(srv.plain, 'ok.localhost');
    c.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    await c.waitFor('<handshake/>');
    expect(srv.ts.server.components.has('ok.localhost')).toBe(true);
    c.close();
  });

  test('upper-case hex is the same digest', async () => {
    const { c, id } = await openComponent(srv.plain, 'upper.localhost');
    c.send(`<handshake>${digest(id, SECRET).toUpperCase()}</handshake>`);
    await c.waitFor('<handshake/>');
    c.close();
  });

  test('a wrong secret: not-authorized, and the domain stays free', async () => {
    const { c, id } = await openComponent(srv.plain, 'wrong.localhost');
    c.send(`<handshake>${digest(id, 'not-the-secret')}</handshake>`);
    await expectStreamError(c, 'not-authorized');
    expect(srv.ts.server.components.has('wrong.localhost')).toBe(false);
  });

  test('the digest of another stream id: not-authorized', async () => {
    const first = await openComponent(srv.plain, 'replay.localhost');
    const second = await openComponent(srv.plain, 'replay.localhost');
    second.c.send(`<handshake>${digest(first.id, SECRET)}</handshake>`);
    await expectStreamError(second.c, 'not-authorized');
    first.c.close();
  });

  test('a second handshake: not-authorized', async () => {
    const { c, id } = await openComponent(srv.plain, 'twice.localhost');
    c.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    await c.waitFor('<handshake/>');
    c.send(`<handshake>${digest(id, SECRET)}</handshake>`);
    await expectStreamError(c, 'not-authorized');
  });

  test('a handshake with child elements: not-authorized', async () => {
    const { c, id } = await openComponent(srv.plain, 'children.localhost');
    c.send(`<handshake>${digest(id, SECRET)}<extra/></handshake>`);
    await expectStreamError(c, 'not-authorized');
  });

  test('a stanza before the handshake: not-authorized', async () => {
    const { c } = await openComponent(srv.plain, 'early.localhost');
    c.send(`<message from='early.localhost' to='alice@localhost'><body>hi</body></message>`);
    await expectStreamError(c, 'not-authorized');
  });

  test('a disconnected component frees its domain', async () => {
    const c = await connectComponent(srv.plain, 'gone.localhost', SECRET);
    expect(srv.ts.server.components.has('gone.localhost')).toBe(true);
    c.send('</stream:stream>');
    await c.waitForClose();
    expect(srv.ts.server.components.has('gone.localhost')).toBe(false);
    const again = await connectComponent(srv.plain, 'gone.localhost', SECRET);
    again.close();
  });

  test('the admin listing shows connected components', async () => {
    const c = await connectComponent(srv.hidden, 'listed.localhost', SECRET);
    const row = srv.ts.server.components.listComponents().find((r) => r.name === 'listed.localhost');
    expect(row).toMatchObject({ domains: ['listed.localhost'], hidden: true, transport: 'tcp', listenerPort: srv.hidden, remoteAddress: '127.0.0.1' });
    c.close();
  });
});
