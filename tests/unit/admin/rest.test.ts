import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { verifyPlainPassword } from '../../../server/auth/credentials.ts';
import { ALL_COMMANDS } from '../../../server/admin/commands/index.ts';
import { Packet } from '../../../server/core/packet.ts';
import { Element } from '../../../server/xml/element.ts';
import { adminFixture, BASIC, BEARER, type AdminFixture } from './fixture.ts';

let f: AdminFixture;

beforeAll(async () => {
  f = await adminFixture();
  await f.addUser('alice@localhost', 'alice-pw');
  await f.addUser('bob@localhost', 'bob-pw');
});

afterAll(async () => {
  await f.close();
});

describe('authentication', () => {
  test('no credentials, a wrong token, a wrong password: 401 with a challenge', async () => {
    for (const auth of ['', 'Bearer wrong-token-wrong-token', 'Basic ' + Buffer.from('root:nope').toString('base64'), 'Digest x']) {
      const res = await f.call('GET', '/api/admin/account/list', undefined, auth);
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('unauthorized');
    }
    const raw = await f.app.request('/api/admin/commands');
    expect(raw.headers.get('www-authenticate')).toStartWith('Basic realm=');
  });

  test('Basic and bearer credentials both work', async () => {
    expect((await f.call('GET', '/api/admin/account/list', undefined, BASIC)).status).toBe(200);
    expect((await f.call('GET', '/api/admin/account/list', undefined, BEARER)).status).toBe(200);
  });

  test('an unknown admin route is 401 without credentials and 404 with them; outside /api/admin 404', async () => {
    expect((await f.call('GET', '/api/admin/nothing/here', undefined, '')).status).toBe(401);
    const known = await f.call('POST', '/api/admin/nothing/here', {});
    expect(known.status).toBe(404);
    expect(known.json.error.code).toBe('not_found');
    expect((await f.call('GET', '/elsewhere', undefined, '')).status).toBe(404);
  });
});

describe('paths are matched after decoding and normalising', () => {
  test('encoded dot segments cannot escape authentication', async () => {
    // Each of these reaches /api/admin/account/list once normalised: credentials are still required.
    for (const path of [
      '/health/..%2f..%2fapi/admin/account/list',
      '/health/%2e%2e/api/admin/account/list',
      '/health/live/%2E%2E/%2e%2e/api/admin/account/list',
      '/metrics/../api/admin/account/list',
      '/api/admin/./account/list',
    ]) {
      const res = await f.call('GET', path, undefined, '');
      expect([400, 401]).toContain(res.status);
    }
    // With credentials the normalised spelling is the same route.
    expect((await f.call('GET', '/api/admin/session/../account/list')).status).toBe(200);
    expect((await f.call('GET', '/api/admin/%61ccount/list')).status).toBe(200);
  });

  test('double encoding, encoded slashes and escaping the root are refused', async () => {
    for (const path of ['/api/admin/%252e%252e/account/list', '/api/admin/account%2flist', '/api/admin/account%5clist', '/api/admin/%zz/list', '/api/admin/account/list%00']) {
      const res = await f.call('GET', path);
      expect(res).toEqual({ status: 400, json: { error: { code: 'invalid_path', message: expect.any(String) } } });
    }
    // Above the root stays at the root, and still needs credentials.
    expect((await f.call('GET', '/../../api/admin/account/list', undefined, '')).status).toBe(401);
  });
});

describe('validation', () => {
  test('arguments are checked and every problem named', async () => {
    const res = await f.call('POST', '/api/admin/account/register', { jid: 'nobody', password: '', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('invalid_arguments');
    const args = res.json.error.problems.map((p: { arg: string }) => p.arg).sort();
    expect(args).toEqual(['extra', 'jid', 'password']);
    const host = await f.call('POST', '/api/admin/account/register', { jid: 'x@elsewhere.example', password: 'p' });
    expect(host.json.error.problems[0].message).toBe('elsewhere.example is not a configured host (general.hosts: localhost, chat.example)');
  });

  test('bad JSON, a non-object body and a wrong media type', async () => {
    expect((await f.call('POST', '/api/admin/account/check', '{"jid":')).json.error.code).toBe('invalid_json');
    expect((await f.call('POST', '/api/admin/account/check', '["alice@localhost"]')).json.error.code).toBe('invalid_json');
    const res = await f.app.request('/api/admin/account/check', { method: 'POST', headers: { Authorization: BEARER, 'Content-Type': 'text/plain' }, body: 'jid=alice@localhost' });
    expect(res.status).toBe(415);
  });

  test('an oversized body is refused', async () => {
    const res = await f.call('POST', '/api/admin/stanza/send-raw', { xml: 'x'.repeat(5000) });
    expect(res.status).toBe(413);
  });

  test('a state-changing command is not run by GET', async () => {
    const res = await f.app.request('/api/admin/account/register?jid=zed@localhost&password=x', { headers: { Authorization: BEARER } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await f.storage.users.get('localhost', 'zed')).toBeUndefined();
  });
});

describe('accounts', () => {
  test('register, check, change password, list, count, unregister', async () => {
    expect(await f.call('POST', '/api/admin/account/register', { jid: 'Carol@LocalHost', password: 'carol-pw' })).toEqual({ status: 200, json: { ok: true, message: 'created carol@localhost' } });
    expect((await f.call('GET', '/api/admin/account/list?host=localhost')).json.lines).toEqual(['alice@localhost', 'bob@localhost', 'carol@localhost']);
    expect((await f.call('POST', '/api/admin/account/register', { jid: 'carol@localhost', password: 'x' })).status).toBe(409);
    expect((await f.call('GET', '/api/admin/account/check?jid=carol@localhost')).json.data.exists).toBe(true);
    expect((await f.call('GET', '/api/admin/account/check?jid=nobody@localhost')).status).toBe(404);
    expect((await f.call('POST', '/api/admin/account/change-password', { jid: 'carol@localhost', password: 'new-pw' })).status).toBe(200);
    const record = await f.storage.users.get('localhost', 'carol');
    expect(await verifyPlainPassword(record!.credentials, 'new-pw')).toBe(true);
    expect((await f.call('POST', '/api/admin/account/change-password', { jid: 'zed@localhost', password: 'x' })).status).toBe(404);
    expect((await f.call('GET', '/api/admin/account/list?host=localhost')).json.data).toEqual(['alice@localhost', 'bob@localhost', 'carol@localhost']);
    expect((await f.call('GET', '/api/admin/account/count')).json.data).toEqual({ count: 3 });
    const session = f.bind('carol@localhost/phone');
    expect((await f.call('POST', '/api/admin/account/unregister', { jid: 'carol@localhost' })).status).toBe(200);
    expect(session.closedWith?.condition).toBe('not-authorized');
    expect((await f.call('POST', '/api/admin/account/unregister', { jid: 'carol@localhost' })).status).toBe(404);
  });
});

describe('sessions', () => {
  test('list, count by transport, kick one resource and a whole account', async () => {
    const a1 = f.bind('alice@localhost/one', 'tcp');
    const a2 = f.bind('alice@localhost/two', 'http');
    const b = f.bind('bob@localhost/x', 'tcp_tls');
    const list = await f.call('GET', '/api/admin/session/list');
    expect(list.json.data.map((r: { jid: string }) => r.jid)).toEqual(['alice@localhost/one', 'alice@localhost/two', 'bob@localhost/x']);
    expect((await f.call('GET', '/api/admin/session/count')).json.data).toEqual({ count: 3, byTransport: { tcp: 1, http: 1, tcp_tls: 1 } });
    expect((await f.call('GET', '/api/admin/session/count?host=chat.example')).json.data.count).toBe(0);

    const kicked = await f.call('POST', '/api/admin/session/kick', { jid: 'alice@localhost/one', reason: 'bye' });
    expect(kicked.json.data).toEqual({ kicked: 1 });
    expect(a1.closedWith?.condition).toBe('policy-violation');
    expect(a1.closedWith?.text).toBe('bye');
    expect(a2.closed).toBe(false);
    expect((await f.call('POST', '/api/admin/session/kick', { jid: 'bob@localhost' })).json.data).toEqual({ kicked: 1 });
    expect(b.closed).toBe(true);
    expect((await f.call('POST', '/api/admin/session/kick', { jid: 'bob@localhost' })).status).toBe(404);
    f.core.sessions.remove(a2);
  });
});

describe('stanzas', () => {
  test('send a message to a bound session', async () => {
    const s = f.bind('alice@localhost/msg');
    s.available = true;
    const res = await f.call('POST', '/api/admin/stanza/send-message', { from: 'localhost', to: 'alice@localhost/msg', body: 'maintenance <soon>', type: 'chat' });
    expect(res.status).toBe(200);
    expect(s.sent).toEqual(["<message from='localhost' to='alice@localhost/msg' type='chat'><body>maintenance &lt;soon&gt;</body></message>"]);
    f.core.sessions.remove(s);
  });

  test('send a raw stanza; what the tokenizer refuses is a validation error', async () => {
    const s = f.bind('alice@localhost/raw');
    const ok = await f.call('POST', '/api/admin/stanza/send-raw', { xml: "<message from='bob@localhost' to='alice@localhost/raw' id='r1'><body>hi</body></message>" });
    expect(ok.status).toBe(200);
    expect(s.sent.length).toBe(1);
    expect(s.sent[0]).toContain("<body>hi</body>");
    for (const xml of [
      '<!DOCTYPE x [<!ENTITY a "b">]><message/>',
      "<message to='alice@localhost/raw'><body>&a;</body></message>",
      '<message><body>unclosed</message>',
      "<message to='alice@localhost'/><message to='alice@localhost'/>",
      "<foo to='alice@localhost'/>",
    ]) {
      const res = await f.call('POST', '/api/admin/stanza/send-raw', { xml });
      expect(res.status).toBe(400);
      expect(res.json.error.problems[0].arg).toBe('xml');
    }
    const noFrom = await f.call('POST', '/api/admin/stanza/send-raw', { xml: "<message to='alice@localhost/raw'/>" });
    expect(noFrom.status).toBe(400);
    expect(noFrom.json.error.message).toBe("the stanza needs a 'from' address");
    expect(s.sent.length).toBe(1);
    f.core.sessions.remove(s);
  });
});

describe('roster and offline', () => {
  test('add, list, subscribe both ways, delete; an interested resource gets pushes', async () => {
    const s = f.bind('alice@localhost/roster');
    s.interested = true;
    expect((await f.call('POST', '/api/admin/roster/add', { jid: 'alice@localhost', contact: 'dave@chat.example', name: 'Dave', groups: ['Friends'] })).status).toBe(200);
    expect(s.sent.at(-1)).toContain("<item jid='dave@chat.example' name='Dave' subscription='none'><group>Friends</group></item>");
    expect((await f.call('POST', '/api/admin/roster/subscribe', { jid: 'alice@localhost', contact: 'bob@localhost' })).status).toBe(200);
    const alice = await f.call('GET', '/api/admin/roster/list?jid=alice@localhost');
    expect(alice.json.data).toEqual([
      { jid: 'bob@localhost', subscription: 'both', ask: false, groups: [] },
      { jid: 'dave@chat.example', name: 'Dave', subscription: 'none', ask: false, groups: ['Friends'] },
    ]);
    const bob = await f.call('GET', '/api/admin/roster/list?jid=bob@localhost');
    expect(bob.json.data).toEqual([{ jid: 'alice@localhost', subscription: 'both', ask: false, groups: [] }]);
    expect((await f.call('POST', '/api/admin/roster/delete', { jid: 'alice@localhost', contact: 'dave@chat.example' })).status).toBe(200);
    expect(s.sent.at(-1)).toContain("<item jid='dave@chat.example' subscription='remove'/>");
    expect((await f.call('POST', '/api/admin/roster/delete', { jid: 'alice@localhost', contact: 'dave@chat.example' })).status).toBe(404);
    expect((await f.call('POST', '/api/admin/roster/subscribe', { jid: 'alice@localhost', contact: 'ghost@localhost' })).status).toBe(404);
    f.core.sessions.remove(s);
  });

  test('subscribe both ways tells the online resources each other\'s presence', async () => {
    const alice = f.bind('alice@localhost/desk');
    const bob = f.bind('bob@localhost/phone');
    for (const s of [alice, bob]) {
      f.core.sessions.setAvailable(s, 0, Packet.fromElement(new Element('presence', { from: s.jid.toString(), to: s.jid.bare().toString() })));
    }
    expect((await f.call('POST', '/api/admin/roster/subscribe', { jid: 'alice@localhost', contact: 'bob@localhost' })).status).toBe(200);
    const seen = (s: typeof alice, from: string) => s.sent.some((x) => x.startsWith('<presence') && x.includes(`from='${from}'`) && !x.includes("type="));
    const deadline = Date.now() + 2000;
    while (!(seen(alice, 'bob@localhost/phone') && seen(bob, 'alice@localhost/desk')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(seen(alice, 'bob@localhost/phone')).toBe(true);
    expect(seen(bob, 'alice@localhost/desk')).toBe(true);
    f.core.sessions.remove(alice);
    f.core.sessions.remove(bob);
  });

  test('offline count follows the offline store', async () => {
    expect((await f.call('GET', '/api/admin/offline/count?jid=bob@localhost')).json.data).toEqual({ count: 0 });
    await f.storage.offline.push('localhost', 'bob', '<message/>', 10);
    await f.storage.offline.push('localhost', 'bob', '<message/>', 10);
    expect((await f.call('GET', '/api/admin/offline/count?jid=bob@localhost')).json.data).toEqual({ count: 2 });
  });
});

describe('node', () => {
  test('stats count registered accounts, sessions and stanzas', async () => {
    f.metrics.inc('stanzas_in_total', { kind: 'message' }, 5);
    const s = f.bind('alice@localhost/stats');
    const res = await f.call('GET', '/api/admin/node/stats');
    expect(res.json.data).toMatchObject({ state: 'ready', registered: 2, online: 1, onlineUsers: 1, stanzasIn: 5 });
    f.core.sessions.remove(s);
  });

  test('log level get and set', async () => {
    expect((await f.call('GET', '/api/admin/log/get-level')).json.data).toEqual({ level: 'none' });
    expect((await f.call('POST', '/api/admin/log/set-level', { level: 'loud' })).status).toBe(400);
    expect((await f.call('POST', '/api/admin/log/set-level', { level: 'debug' })).json.data).toEqual({ level: 'debug', previous: 'none' });
    expect(f.node.logger.level).toBe('debug');
    f.node.logger.setLevel('none');
  });

  test('modules, services, components, config check, status and stop', async () => {
    const modules = await f.call('GET', '/api/admin/module/list?host=localhost');
    expect(modules.json.data.running).toEqual({ localhost: ['mod_roster', 'mod_offline'] });
    expect(modules.json.data.available).toContain('mod_adhoc');
    expect((await f.call('GET', '/api/admin/service/list')).json.data).toEqual({ running: ['service_admin_extra'], available: ['service_admin_extra'] });
    expect((await f.call('GET', '/api/admin/component/list')).json.data).toEqual([]);
    const check = await f.call('GET', '/api/admin/config/check');
    expect(check.status).toBe(200);
    expect(check.json.data.report.hosts).toEqual(['localhost']); // no file: the embedded defaults
    expect((await f.call('GET', '/api/admin/node/status')).json.data.state).toBe('ready');
    expect((await f.call('POST', '/api/admin/node/stop', { reason: 'test' })).status).toBe(200);
    expect(f.stopRequests).toEqual(['test']);
  });
});

describe('discovery, metrics and health', () => {
  test('the command list and the OpenAPI description come from the registry', async () => {
    const list = await f.call('GET', '/api/admin/commands');
    expect(list.json.map((c: { name: string }) => c.name)).toEqual(ALL_COMMANDS.map((c) => c.name.join(' ')));
    const doc = (await f.call('GET', '/api/admin/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).length).toBe(ALL_COMMANDS.length);
    const register = doc.paths['/api/admin/account/register'];
    expect(register.get).toBeUndefined();
    expect(register.post.requestBody.content['application/json'].schema.required).toEqual(['jid', 'password']);
    expect(doc.paths['/api/admin/account/list'].get.parameters[0]).toMatchObject({ name: 'host', in: 'query', required: false });
  });

  test('/metrics is Prometheus text with the meerkat_ prefix and no JIDs', async () => {
    const s = f.bind('alice@localhost/metrics', 'tcp_tls');
    f.metrics.inc('auth_failures_total', { mechanism: 'PLAIN', condition: 'not-authorized' });
    const res = await f.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4');
    const text = await res.text();
    expect(text).toContain('meerkat_sessions_by_transport{transport="tcp_tls"} 1');
    expect(text).toContain('# TYPE meerkat_router_routed_total counter');
    expect(text).toContain('meerkat_parser_bytes_total');
    expect(text).toContain('meerkat_auth_failures_total{condition="not-authorized",mechanism="PLAIN"} 1');
    for (const line of text.split('\n')) if (line && !line.startsWith('#')) expect(line).toStartWith('meerkat_');
    expect(text).not.toContain('alice');
    f.core.sessions.remove(s);
  });

  test('/health/live and /health/ready (503 while starting or draining)', async () => {
    expect((await f.call('GET', '/health/live', undefined, '')).status).toBe(200);
    expect((await f.call('GET', '/health/ready', undefined, '')).json).toEqual({ status: 'ready' });
    for (const state of ['starting', 'draining'] as const) {
      f.state = state;
      expect(await f.call('GET', '/health/ready', undefined, '')).toEqual({ status: 503, json: { status: state } });
    }
    f.state = 'ready';
  });

  test('the dashboard page needs credentials', async () => {
    expect((await f.app.request('/dashboard')).status).toBe(401);
    const res = await f.app.request('/dashboard', { headers: { Authorization: BASIC } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Messages per second');
  });
});

describe('service_admin_extra decides what exists', () => {
  test('groups select commands; without the service there are none', async () => {
    const some = await adminFixture({ services: { service_admin_extra: { groups: ['stats'] } } });
    try {
      expect((await some.call('GET', '/api/admin/commands')).json.map((c: { name: string }) => c.name)).toEqual(['node stats']);
      expect((await some.call('POST', '/api/admin/account/register', { jid: 'a@localhost', password: 'x' })).status).toBe(404);
    } finally {
      await some.close();
    }
    const none = await adminFixture({ services: {} });
    try {
      expect((await none.call('GET', '/api/admin/commands')).json).toEqual([]);
      expect((await none.call('GET', '/api/admin/node/stats')).status).toBe(404);
    } finally {
      await none.close();
    }
  });
});
