// BOSH through Hono's app.request(): session creation, the rid window, long polling and
// every terminal error path of XEP-0124 §17 / XEP-0206, against the real c2s stream.

import { describe, expect, test } from 'bun:test';
import { fakeServer, HOST } from './fake-server.ts';
import { bodyAttr, BoshTestClient, creationBody, NS_HTTPBIND, postRaw } from './bosh-client.ts';

describe('session creation', () => {
  test('reports the session parameters, clamped to ours, and the stream features', async () => {
    const server = fakeServer({ bosh: { maxWaitMs: 30_000, maxPauseMs: 90_000 } });
    const reply = await postRaw(server, creationBody(100, `ack='1'`).replace("wait='60'", "wait='3600'").replace("hold='1'", "hold='5'"));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const t = reply.text;
    expect(bodyAttr(t, 'sid')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(bodyAttr(t, 'wait')).toBe('30');
    expect(bodyAttr(t, 'hold')).toBe('1');
    expect(bodyAttr(t, 'requests')).toBe('2');
    expect(bodyAttr(t, 'maxpause')).toBe('90');
    expect(bodyAttr(t, 'inactivity')).toBe('30');
    expect(bodyAttr(t, 'polling')).toBe('2');
    expect(bodyAttr(t, 'ver')).toBe('1.11');
    expect(bodyAttr(t, 'ack')).toBe('100');
    expect(bodyAttr(t, 'from')).toBe(HOST);
    expect(bodyAttr(t, 'authid')).toMatch(/.{8,}/);
    expect(bodyAttr(t, 'xmpp:version')).toBe('1.0');
    expect(bodyAttr(t, 'xmpp:restartlogic')).toBe('true');
    expect(t).toContain("<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms>");
    expect(t).toContain(`xmlns:stream='http://etherx.jabber.org/streams'`);
  });

  test('an older protocol version is answered with that version', async () => {
    const server = fakeServer();
    const reply = await postRaw(server, creationBody(1).replace("ver='1.11'", "ver='1.6'"));
    expect(bodyAttr(reply.text, 'ver')).toBe('1.6');
  });

  test('every session gets a fresh SID', async () => {
    const server = fakeServer();
    const sids = new Set<string>();
    for (let i = 0; i < 20; i++) sids.add(bodyAttr((await postRaw(server, creationBody(10 + i))).text, 'sid')!);
    expect(sids.size).toBe(20);
  });

  test('a domain we do not serve is host-unknown', async () => {
    const server = fakeServer();
    const reply = await postRaw(server, creationBody(1).replace(`to='${HOST}'`, "to='elsewhere.test'"));
    expect(reply.text).toBe(`<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' xmlns:stream='http://etherx.jabber.org/streams' type='terminate' condition='host-unknown'/>`);
    expect(server.http.boshSessions()).toBe(0);
  });

  test('a missing or invalid rid is bad-request', async () => {
    const server = fakeServer();
    for (const rid of ["rid='abc'", "rid='0'", "rid='9007199254740992'", "rid='-5'"]) {
      const reply = await postRaw(server, creationBody(1).replace("rid='1'", rid));
      expect(bodyAttr(reply.text, 'condition')).toBe('bad-request');
    }
    const noRid = await postRaw(server, creationBody(1).replace("rid='1' ", ''));
    expect(bodyAttr(noRid.text, 'condition')).toBe('bad-request');
  });

  test('without xmpp:version the stream is refused with a stream error', async () => {
    const server = fakeServer();
    const reply = await postRaw(server, creationBody(1).replace("xmpp:version='1.0' ", ''));
    expect(bodyAttr(reply.text, 'type')).toBe('terminate');
    expect(bodyAttr(reply.text, 'condition')).toBe('remote-stream-error');
    expect(reply.text).toContain("<stream:error><unsupported-version xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>");
  });
});

describe('malformed bodies', () => {
  const cases: Array<[string, string]> = [
    ['the wrong root namespace', `<body rid='1' to='${HOST}' xmlns='jabber:client'/>`],
    ['the wrong root element', `<stream rid='1' to='${HOST}' xmlns='${NS_HTTPBIND}'/>`],
    ['two roots', `${creationBody(1)}<body xmlns='${NS_HTTPBIND}'/>`],
    ['a truncated body', `<body rid='1' to='${HOST}' xmlns='${NS_HTTPBIND}'><presence`],
    ['an empty request', ''],
    ['text that is not XML', 'hello'],
  ];
  for (const [what, xml] of cases) {
    test(`${what} is bad-request`, async () => {
      const server = fakeServer();
      const reply = await postRaw(server, xml);
      expect(bodyAttr(reply.text, 'type')).toBe('terminate');
      expect(bodyAttr(reply.text, 'condition')).toBe('bad-request');
      expect(server.http.boshSessions()).toBe(0);
    });
  }

  test('a malformed body in a session terminates it with bad-request', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await postRaw(server, `<body rid='${c.rid + 1}' sid='${c.sid}' xmlns='${NS_HTTPBIND}'><message xmlns='jabber:client'></body>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('bad-request');
    expect(server.http.boshSessions()).toBe(0);
  });

  test('a DTD is refused by the tokenizer: restricted-xml, no entity expanded', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await postRaw(server, `<!DOCTYPE body [<!ENTITY a 'aaaa'>]><body rid='${c.rid + 1}' sid='${c.sid}' xmlns='${NS_HTTPBIND}'/>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('bad-request');
    expect(reply.text).not.toContain('aaaa');
  });

  test('a comment inside a stanza is a restricted-xml stream error', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await c.send(`<message xmlns='jabber:client' to='bob@${HOST}'><!-- hi --></message>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('remote-stream-error');
    expect(reply.text).toContain('<restricted-xml ');
    expect(server.http.boshSessions()).toBe(0);
  });

  test('a stanza over the pre-authentication size limit is policy-violation', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${'A'.repeat(20_000)}</auth>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('remote-stream-error');
    expect(reply.text).toContain('<policy-violation ');
  });

  test('a body over the size limit is refused before it is read', async () => {
    const server = fakeServer({ bosh: { maxBodyBytes: 2048 } });
    const reply = await postRaw(server, creationBody(1).replace('/>', `>${'<presence xmlns="jabber:client"/>'.repeat(100)}</body>`));
    expect(reply.status).toBe(413);
    expect(bodyAttr(reply.text, 'condition')).toBe('policy-violation');
  });
});

describe('request ids', () => {
  test('an unknown SID is item-not-found', async () => {
    const server = fakeServer();
    const reply = await postRaw(server, `<body rid='5' sid='nosuchsession' xmlns='${NS_HTTPBIND}'/>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('item-not-found');
  });

  test('a retransmitted rid gets the cached response', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const { xml } = c.body(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${btoa('\0alice\0secret')}</auth>`);
    const first = await postRaw(server, xml);
    expect(first.text).toContain('<success');
    const again = await postRaw(server, xml);
    expect(again.text).toBe(first.text);
  });

  test('rids inside the window that arrive out of order are processed in order', async () => {
    const server = fakeServer();
    const alice = new BoshTestClient(server, 100);
    const bob = new BoshTestClient(server, 9000);
    await alice.login('alice', 'web');
    await bob.login('bob', 'web');
    const m1 = alice.body(`<message xmlns='jabber:client' to='bob@${HOST}/web' id='m1'/>`);
    const m2 = alice.body(`<message xmlns='jabber:client' to='bob@${HOST}/web' id='m2'/>`);
    const bobPoll = bob.send();
    // The second request overtakes the first: it waits until the first has been processed.
    const second = postRaw(server, m2.xml);
    const first = postRaw(server, m1.xml);
    const got = (await bobPoll).text;
    expect(got.indexOf("id='m1'")).toBeGreaterThan(0);
    expect(got.indexOf("id='m2'")).toBeGreaterThan(got.indexOf("id='m1'"));
    await alice.send('', "type='terminate'");
    await Promise.all([first, second]);
  });

  test('a request waiting for an earlier rid that never comes ends the session after wait (item-not-found)', async () => {
    const server = fakeServer({ bosh: { maxWaitMs: 200 } });
    const c = new BoshTestClient(server);
    await c.create();
    // rid+1 is skipped: rid+2 is inside the window and waits for it.
    const reply = await postRaw(server, `<body rid='${c.rid + 2}' sid='${c.sid}' xmlns='${NS_HTTPBIND}'/>`);
    expect(bodyAttr(reply.text, 'type')).toBe('terminate');
    expect(bodyAttr(reply.text, 'condition')).toBe('item-not-found');
    expect(server.http.boshSessions()).toBe(0);
  });

  test('a rid beyond the window is item-not-found and ends the session', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await postRaw(server, `<body rid='${c.rid + 3}' sid='${c.sid}' xmlns='${NS_HTTPBIND}'/>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('item-not-found');
    expect(server.http.boshSessions()).toBe(0);
  });

  test('a rid far behind is item-not-found', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await postRaw(server, `<body rid='${c.rid - 10}' sid='${c.sid}' xmlns='${NS_HTTPBIND}'/>`);
    expect(bodyAttr(reply.text, 'condition')).toBe('item-not-found');
  });

  test('a terminated SID is answered with its last body and never reused', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const end = await c.send('', "type='terminate'");
    expect(bodyAttr(end.text, 'type')).toBe('terminate');
    const later = await c.send();
    expect(bodyAttr(later.text, 'type')).toBe('terminate');
    expect(server.http.boshSessions()).toBe(0);
  });
});

describe('overactivity', () => {
  test('more simultaneous requests than `requests` is policy-violation', async () => {
    const server = fakeServer({ bosh: { maxHold: 1, maxRequests: 2 } });
    const c = new BoshTestClient(server);
    await c.create();
    const a = c.body();
    const b = c.body();
    const third = c.body();
    // a is held, the third waits for b: when b comes, three requests are outstanding.
    const held = postRaw(server, a.xml);
    const waiting = postRaw(server, third.xml);
    const reply = await postRaw(server, b.xml);
    expect(bodyAttr(reply.text, 'condition')).toBe('policy-violation');
    expect(bodyAttr((await held).text, 'type')).toBe('terminate');
    expect(bodyAttr((await waiting).text, 'type')).toBe('terminate');
    expect(server.http.boshSessions()).toBe(0);
  });

  test('polling faster than `polling` is policy-violation', async () => {
    const server = fakeServer({ bosh: { maxHold: 0, pollingMs: 60_000 } });
    const c = new BoshTestClient(server);
    const created = await c.create();
    expect(bodyAttr(created.text, 'hold')).toBe('0');
    const first = await c.send();
    expect(bodyAttr(first.text, 'condition')).toBeUndefined();
    const second = await c.send();
    expect(bodyAttr(second.text, 'condition')).toBe('policy-violation');
  });
});

describe('long polling', () => {
  test('a held request is answered empty at `wait`', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await postRaw(server, creationBody(c.rid).replace("wait='60'", "wait='1'")).then((r) => (c.sid = bodyAttr(r.text, 'sid')!));
    const reply = await c.send();
    expect(reply.text).toBe(`<body xmlns='${NS_HTTPBIND}' xmlns:xmpp='urn:xmpp:xbosh' xmlns:stream='http://etherx.jabber.org/streams'/>`);
  });

  test('a held request carries a stanza routed to the user', async () => {
    const server = fakeServer();
    const alice = new BoshTestClient(server, 100);
    const bob = new BoshTestClient(server, 9000);
    await alice.login('alice', 'web');
    await bob.login('bob', 'web');
    const bobPoll = bob.send();
    const aliceSent = alice.send(`<message xmlns='jabber:client' to='bob@${HOST}/web' type='chat' id='m1'><body>hi bob</body></message>`);
    const got = await bobPoll;
    expect(got.text).toContain(`<message xmlns='jabber:client' to='bob@${HOST}/web' type='chat' id='m1' from='alice@${HOST}/web'><body>hi bob</body></message>`);
    await alice.send('', "type='terminate'");
    await aliceSent;
  });

  test('an IQ ping to the server is answered', async () => {
    const server = fakeServer();
    const alice = new BoshTestClient(server);
    await alice.login('alice', 'web');
    const reply = await alice.send(`<iq xmlns='jabber:client' type='get' id='p1' to='${HOST}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    expect(reply.text).toContain(`<iq xmlns='jabber:client' type='result' id='p1' from='${HOST}' to='alice@${HOST}/web'/>`);
  });

  test('a pause answers the held requests; longer than maxpause is policy-violation', async () => {
    const server = fakeServer({ bosh: { maxPauseMs: 60_000 } });
    const c = new BoshTestClient(server);
    await c.create();
    const held = c.send();
    const pause = await c.send('', "pause='30'");
    expect(bodyAttr(pause.text, 'type')).toBeUndefined();
    expect(bodyAttr((await held).text, 'type')).toBeUndefined();
    const tooLong = await c.send('', "pause='120'");
    expect(bodyAttr(tooLong.text, 'condition')).toBe('policy-violation');
  });

  test('a restart that was not due is a policy-violation stream error', async () => {
    const server = fakeServer();
    const c = new BoshTestClient(server);
    await c.create();
    const reply = await c.send('', `to='${HOST}' xmpp:restart='true'`);
    expect(bodyAttr(reply.text, 'condition')).toBe('remote-stream-error');
    expect(reply.text).toContain('<policy-violation ');
  });

  test('terminate routes the stanzas it carries, then ends the session', async () => {
    const server = fakeServer();
    const alice = new BoshTestClient(server, 100);
    const bob = new BoshTestClient(server, 9000);
    await alice.login('alice', 'web');
    await bob.login('bob', 'web');
    const bobPoll = bob.send();
    const end = await alice.send(`<message xmlns='jabber:client' to='bob@${HOST}/web' id='bye'><body>bye</body></message>`, "type='terminate'");
    expect(bodyAttr(end.text, 'type')).toBe('terminate');
    expect(bodyAttr(end.text, 'condition')).toBeUndefined();
    expect((await bobPoll).text).toContain(`id='bye'`);
    expect(server.sessions.has(`alice@${HOST}/web`)).toBe(false);
  });

  test('acknowledgements: responses carry ack and report a response the client missed', async () => {
    const server = fakeServer({ bosh: { reportAfterMs: 0 } });
    const c = new BoshTestClient(server);
    const created = await c.create("ack='1'");
    expect(bodyAttr(created.text, 'ack')).toBe(String(c.rid));
    const auth = await c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${btoa('\0alice\0secret')}</auth>`, `ack='${c.rid}'`);
    expect(auth.text).toContain('<success');
    // The client claims it only got the creation response: the server reports the auth response.
    const creationRid = c.rid - 1;
    const restart = await c.send('', `to='${HOST}' xmpp:restart='true' ack='${creationRid}'`);
    expect(bodyAttr(restart.text, 'report')).toBe(String(creationRid + 1));
    expect(bodyAttr(restart.text, 'time')).toMatch(/^[0-9]+$/);
  });
});

describe('session end', () => {
  test('stanzas no request could carry are handed back as undelivered at inactivity', async () => {
    const server = fakeServer({ bosh: { inactivityMs: 300 } });
    const alice = new BoshTestClient(server, 100);
    const bob = new BoshTestClient(server, 9000);
    await alice.login('alice', 'web');
    await bob.login('bob', 'web');
    // Bob stops polling after login: the message waits in his session until it times out.
    const aliceHeld = alice.send(`<message xmlns='jabber:client' to='bob@${HOST}/web' id='lost'><body>are you there?</body></message>`);
    for (let i = 0; i < 250 && server.undelivered.length === 0; i++) await Bun.sleep(20);
    expect(server.undelivered).toHaveLength(1);
    expect(server.undelivered[0]!.jid).toBe(`bob@${HOST}/web`);
    expect(server.undelivered[0]!.stanzas.map((s) => s.attr('id'))).toEqual(['lost']);
    expect(server.undelivered[0]!.stanzas[0]!.attr('from')).toBe(`alice@${HOST}/web`);
    expect(server.sessions.has(`bob@${HOST}/web`)).toBe(false);
    await alice.send('', "type='terminate'");
    await aliceHeld;
  });
});

describe('HTTP', () => {
  test('GET shows a banner, other methods are 405, /bosh is an alias', async () => {
    const server = fakeServer();
    const banner = await server.http.app.request('/http-bind');
    expect(banner.status).toBe(200);
    expect(await banner.text()).toContain('BOSH');
    const put = await server.http.app.request('/http-bind', { method: 'PUT', body: 'x' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, OPTIONS');
    const alias = await postRaw(server, creationBody(1), {}, '/bosh');
    expect(bodyAttr(alias.text, 'sid')).toBeDefined();
  });

  test('CORS preflight for an allowed origin', async () => {
    const server = fakeServer({ bosh: { corsOrigins: ['http://app.test:8080'] } });
    const res = await server.http.app.request('/http-bind', {
      method: 'OPTIONS',
      headers: { Origin: 'http://app.test:8080', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://app.test:8080');
    expect(res.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const post = await postRaw(server, creationBody(1), { Origin: 'http://app.test:8080' });
    expect(post.headers.get('access-control-allow-origin')).toBe('http://app.test:8080');
    expect(post.headers.get('vary')).toBe('Origin');
  });

  test('another origin is refused, a same-origin page needs no CORS', async () => {
    const server = fakeServer({ bosh: { corsOrigins: ['http://app.test'] } });
    const pre = await server.http.app.request('/http-bind', { method: 'OPTIONS', headers: { Origin: 'http://evil.test' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const post = await postRaw(server, creationBody(1), { Origin: 'http://evil.test' });
    expect(post.status).toBe(403);
    expect(server.http.boshSessions()).toBe(0);
    const same = await postRaw(server, creationBody(1), { Origin: 'http://localhost', Host: 'localhost' });
    expect(same.status).toBe(200);
    expect(same.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('"*" allows any origin', async () => {
    const server = fakeServer({ bosh: { corsOrigins: ['*'] } });
    const post = await postRaw(server, creationBody(1), { Origin: 'http://anywhere.test' });
    expect(post.headers.get('access-control-allow-origin')).toBe('http://anywhere.test');
  });
});
