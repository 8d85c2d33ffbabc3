// XEP-0050/XEP-0133 over a real c2s stream: an admin (in [acl] admin) discovers and runs
// admin commands; an ordinary user sees none and is refused. And a module that needs a
// service the configuration does not start fails start-up naming both.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RawClient, STREAM_OPEN } from '../../helpers/raw-client.ts';
import { startTestServer, type TestServer } from '../../helpers/test-server.ts';
import { parseConfig } from '../../../server/config/load.ts';
import { startServer } from '../../../server/server.ts';
import { Logger } from '../../../server/log.ts';
import { RegistryError } from '../../../server/core/registry.ts';

let ts: TestServer;

const MODULES = `
[modules.mod_disco]
[modules.mod_roster]
[modules.mod_adhoc]
[services.service_admin_extra]
[acl]
admin = [{ user = "root" }]
`;

beforeAll(async () => {
  ts = await startTestServer({ toml: MODULES, users: { 'root@localhost': 'root-pw', 'eve@localhost': 'eve-pw', 'bob@localhost': 'bob-pw' } });
});

afterAll(async () => {
  await ts.stop();
});

async function login(user: string, password: string): Promise<RawClient> {
  const c = await RawClient.connect(ts.tlsPort, { tls: { ca: ts.ca } });
  c.send(STREAM_OPEN());
  await c.waitFor('</stream:features>');
  c.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`);
  await c.waitFor('<success');
  c.send(STREAM_OPEN());
  await c.waitFor(/<bind[^>]*>.*<\/stream:features>/s);
  c.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
  await c.waitFor("id='bind'");
  return c;
}

/** Sends an IQ and returns the answer with that id. */
async function iq(c: RawClient, id: string, body: string): Promise<string> {
  const before = c.received.length;
  c.send(body);
  await c.waitFor(new RegExp(`<iq[^>]*id='${id}'[^>]*>[\\s\\S]*?(</iq>|/>)`));
  const text = c.received.slice(before);
  const start = text.search(new RegExp(`<iq[^>]*id='${id}'`));
  return text.slice(start);
}

const NS_CMD = 'http://jabber.org/protocol/commands';
const ADD_USER = 'http://jabber.org/protocol/admin#add-user';

describe('ad-hoc admin commands', () => {
  test('an admin lists the commands and adds a user in two steps', async () => {
    const root = await login('root', 'root-pw');
    try {
      const items = await iq(root, 'items', `<iq type='get' id='items' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='${NS_CMD}'/></iq>`);
      expect(items).toContain(`node='${ADD_USER}'`);
      expect(items).toContain("node='meerkat:admin#roster-subscribe'");

      const form = await iq(root, 'c1', `<iq type='set' id='c1' to='localhost'><command xmlns='${NS_CMD}' node='${ADD_USER}' action='execute'/></iq>`);
      expect(form).toContain("status='executing'");
      expect(form).toContain("var='accountjid'");
      expect(form).toContain("var='password-verify'");
      const sessionid = /sessionid='([^']+)'/.exec(form)![1];

      const done = await iq(root, 'c2', `<iq type='set' id='c2' to='localhost'><command xmlns='${NS_CMD}' node='${ADD_USER}' sessionid='${sessionid}'>`
        + "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/admin</value></field>"
        + "<field var='accountjid'><value>carol@localhost</value></field><field var='password'><value>carol-pw</value></field>"
        + "<field var='password-verify'><value>carol-pw</value></field></x></command></iq>");
      expect(done).toContain("status='completed'");
      expect(done).toContain("<note type='info'>created carol@localhost</note>");
      expect(await ts.server.storage.users.get('localhost', 'carol')).toBeDefined();

      // A command that fails completes with an error note.
      const again = await iq(root, 'c3', `<iq type='set' id='c3' to='localhost'><command xmlns='${NS_CMD}' node='${ADD_USER}'>`
        + "<x xmlns='jabber:x:data' type='submit'><field var='accountjid'><value>carol@localhost</value></field><field var='password'><value>x</value></field></x></command></iq>");
      expect(again).toContain("<note type='error'>carol@localhost already exists</note>");

      const count = await iq(root, 'c4', `<iq type='set' id='c4' to='localhost'><command xmlns='${NS_CMD}' node='http://jabber.org/protocol/admin#get-online-users-num' action='execute'/></iq>`);
      expect(count).toContain("status='completed'");
      expect(count).toContain('<value>1</value>');
    } finally {
      root.send('</stream:stream>');
    }
  });

  test('a user who is not an admin sees no command and is refused', async () => {
    const eve = await login('eve', 'eve-pw');
    try {
      const items = await iq(eve, 'items', `<iq type='get' id='items' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='${NS_CMD}'/></iq>`);
      expect(items).not.toContain('<item');
      const refused = await iq(eve, 'c1', `<iq type='set' id='c1' to='localhost'><command xmlns='${NS_CMD}' node='${ADD_USER}'>`
        + "<x xmlns='jabber:x:data' type='submit'><field var='accountjid'><value>mallory@localhost</value></field><field var='password'><value>x</value></field></x></command></iq>");
      expect(refused).toContain("type='error'");
      expect(refused).toContain('<forbidden xmlns=');
      expect(await ts.server.storage.users.get('localhost', 'mallory')).toBeUndefined();
    } finally {
      eve.send('</stream:stream>');
    }
  });
});

describe('services at start-up', () => {
  test('a module that needs a service the configuration does not start names both', async () => {
    const config = parseConfig('[general]\nhosts = ["localhost"]\ndata_dir = "/nonexistent-meerkat"\n[listen]\n[modules.mod_adhoc]\n[services]\n', 'deps.toml');
    let error: unknown;
    try {
      const server = await startServer(config, { logger: new Logger('none') });
      await server.stop();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).problems).toEqual(['mod_adhoc requires service_admin_extra, which is not configured in [services]']);
  });
});
