import { describe, expect, test } from 'bun:test';
import { ipMatches, modRegister } from '../../../modules/mod_register.ts';
import type { ModuleDefinition } from '../../../server/core/registry.ts';
import { Element } from '../../../server/xml/element.ts';
import { parseXml } from '../core/fakes.ts';
import { errorCondition, imHarness, type ImHarness } from './im-harness.ts';

const mods = [modRegister as ModuleDefinition<unknown>];
const FAST = { scram_iterations: 4096 };

/** What the c2s stream does with an IQ before authentication. */
async function preauth(h: ImHarness, xmlText: string, ip = '192.0.2.1'): Promise<Element | undefined> {
  const args: { host: string; remoteAddress: string; stanza: Element; reply?: Element } = { host: 'example.com', remoteAddress: ip, stanza: parseXml(xmlText) };
  await h.core.hooks.runAsync('c2s_unauthenticated_iq', 'example.com', args);
  return args.reply;
}

const form = (user: string, password: string, id = 'r1') =>
  `<iq type='set' id='${id}'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`;

describe('mod_register (XEP-0077)', () => {
  test('offers the stream feature before authentication and the form on get', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    const features: Element[] = [];
    h.core.hooks.run('c2s_stream_features', 'example.com', { host: 'example.com', authenticated: false, features });
    expect(features.map((f) => f.toString())).toEqual(["<register xmlns='http://jabber.org/features/iq-register'/>"]);
    const reply = await preauth(h, "<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>");
    const query = reply!.getChild('query', 'jabber:iq:register')!;
    expect(query.getChild('username')).toBeDefined();
    expect(query.getChild('password')).toBeDefined();
  });

  test('creates an account; the same name again is a conflict', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    const created = await preauth(h, form('Dave', 'correct horse'));
    expect(created!.attrs.type).toBe('result');
    const record = await h.storage.users.get('example.com', 'dave');
    expect(record?.credentials['SHA-256']).toBeDefined();
    const again = await preauth(h, form('dave', 'another one', 'r2'));
    expect(errorCondition(again!)).toBe('conflict');
    // The password is never echoed back in an error.
    expect(again!.toString()).not.toContain('another one');
  });

  test('missing fields, short passwords and invalid usernames are not-acceptable', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    expect(errorCondition((await preauth(h, "<iq type='set' id='r3'><query xmlns='jabber:iq:register'><username>x</username></query></iq>"))!)).toBe('not-acceptable');
    expect(errorCondition((await preauth(h, form('eve', 'short')))!)).toBe('not-acceptable');
    expect(errorCondition((await preauth(h, form('e ve', 'long enough password')))!)).toBe('not-acceptable');
  });

  test('too many registrations from one address: resource-constraint; another address still may', async () => {
    const h = await imHarness(mods, { modules: { mod_register: { ...FAST, max_per_ip: 2 } } });
    expect((await preauth(h, form('u1', 'password1')))!.attrs.type).toBe('result');
    expect((await preauth(h, form('u2', 'password2')))!.attrs.type).toBe('result');
    expect(errorCondition((await preauth(h, form('u3', 'password3')))!)).toBe('resource-constraint');
    expect(await h.storage.users.get('example.com', 'u3')).toBeUndefined();
    expect((await preauth(h, form('u3', 'password3'), '198.51.100.7'))!.attrs.type).toBe('result');
  });

  test('allowed_ips limits who may register', async () => {
    const h = await imHarness(mods, { modules: { mod_register: { ...FAST, allowed_ips: ['10.0.0.0/8'] } } });
    expect(errorCondition((await preauth(h, form('u1', 'password1'), '192.0.2.1'))!)).toBe('not-allowed');
    expect((await preauth(h, form('u1', 'password1'), '10.1.2.3'))!.attrs.type).toBe('result');
    expect(ipMatches('10.0.0.0/8', '::ffff:10.9.9.9')).toBe(true);
    expect(ipMatches('::1', '::1')).toBe(true);
    expect(ipMatches('10.0.0.0/8', '11.0.0.1')).toBe(false);
  });

  test('after login: change one\'s password, not someone else\'s', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    const alice = h.connect('alice@example.com/phone');
    const before = JSON.stringify((await h.storage.users.get('example.com', 'alice'))!.credentials);
    const changed = await h.iq(alice, form('alice', 'new password 1', 'p1'));
    expect(changed.attrs.type).toBe('result');
    expect(JSON.stringify((await h.storage.users.get('example.com', 'alice'))!.credentials)).not.toBe(before);
    const other = await h.iq(alice, form('bob', 'new password 2', 'p2'));
    expect(errorCondition(other)).toBe('not-authorized');
  });

  test('after login: removing the account deletes it and closes its sessions', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    const alice = h.connect('alice@example.com/phone');
    const desktop = h.connect('alice@example.com/desktop');
    const removed = await h.iq(alice, "<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>");
    expect(removed.attrs.type).toBe('result');
    await h.settle();
    expect(await h.storage.users.get('example.com', 'alice')).toBeUndefined();
    expect(alice.closedWith?.condition).toBe('not-authorized');
    expect(desktop.closedWith?.condition).toBe('not-authorized');
  });

  test('removal before authentication is refused', async () => {
    const h = await imHarness(mods, { modules: { mod_register: FAST } });
    const reply = await preauth(h, "<iq type='set' id='x2'><query xmlns='jabber:iq:register'><remove/></query></iq>");
    expect(errorCondition(reply!)).toBe('not-authorized');
  });
});
