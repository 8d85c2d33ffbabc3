import { describe, expect, test } from 'bun:test';
import { createAccessControl } from '../../../server/config/access.ts';
import { parseConfig } from '../../../server/config/load.ts';

const config = parseConfig(`
[general]
hosts = ["a.example", "b.example"]

[acl]
local = [{}]
hosted = [{ match = "any_hosted_domain" }]
admin = [{ user = "root", server = "a.example" }]
spammers = [{ match = "all", user_regexp = "^spam" }]
mobile = [{ match = "all", resource_regexp = "^phone-" }]

[access]
c2s = [{ acl = "spammers", value = "deny" }, { acl = "all", value = "allow" }]
configure = [{ acl = "admin", value = "allow" }]
max_user_sessions = [{ acl = "admin", value = 100 }, { acl = "all", value = 10 }]
c2s_shaper = [{ acl = "admin", value = "none" }, { acl = "all", value = "normal" }]
`, 'meerkat.toml');

const access = createAccessControl(config);

describe('ACLs', () => {
  test('current_domain is the default match', () => {
    expect(access.inAcl('local', { user: 'alice', server: 'a.example' }, 'a.example')).toBe(true);
    expect(access.inAcl('local', { user: 'alice', server: 'b.example' }, 'a.example')).toBe(false);
  });

  test('any_hosted_domain and all', () => {
    expect(access.inAcl('hosted', { user: 'alice', server: 'b.example' }, 'a.example')).toBe(true);
    expect(access.inAcl('hosted', { user: 'alice', server: 'remote.example' }, 'a.example')).toBe(false);
    expect(access.inAcl('spammers', { user: 'spammy', server: 'remote.example' }, 'a.example')).toBe(true);
  });

  test('every condition of a pattern must hold', () => {
    expect(access.inAcl('admin', { user: 'root', server: 'a.example' }, 'a.example')).toBe(true);
    expect(access.inAcl('admin', { user: 'root', server: 'b.example' }, 'b.example')).toBe(false);
    expect(access.inAcl('admin', { user: 'alice', server: 'a.example' }, 'a.example')).toBe(false);
    expect(access.inAcl('mobile', { user: 'x', server: 'a.example', resource: 'phone-1' }, 'a.example')).toBe(true);
    expect(access.inAcl('mobile', { user: 'x', server: 'a.example' }, 'a.example')).toBe(false);
  });

  test('unknown names are a programming error', () => {
    expect(() => access.inAcl('nobody', { user: 'x', server: 'a.example' }, 'a.example')).toThrow('unknown ACL "nobody"');
    expect(() => access.evaluate('nothing', { user: 'x', server: 'a.example' }, 'a.example')).toThrow('unknown access rule "nothing"');
  });
});

describe('access rules', () => {
  test('the first matching entry decides', () => {
    expect(access.allowed('c2s', { user: 'spam1', server: 'a.example' }, 'a.example')).toBe(false);
    expect(access.allowed('c2s', { user: 'alice', server: 'a.example' }, 'a.example')).toBe(true);
  });

  test('no match is deny', () => {
    expect(access.evaluate('configure', { user: 'alice', server: 'a.example' }, 'a.example')).toBe('deny');
    expect(access.allowed('configure', { user: 'root', server: 'a.example' }, 'a.example')).toBe(true);
  });

  test('values can be limits or names', () => {
    expect(access.evaluate('max_user_sessions', { user: 'root', server: 'a.example' }, 'a.example')).toBe(100);
    expect(access.evaluate('max_user_sessions', { user: 'bob', server: 'a.example' }, 'a.example')).toBe(10);
    expect(access.evaluate('c2s_shaper', { user: 'bob', server: 'a.example' }, 'a.example')).toBe('normal');
  });

  test('built-in rules all and none', () => {
    expect(access.allowed('all', { user: 'x', server: 'y.example' }, 'a.example')).toBe(true);
    expect(access.allowed('none', { user: 'x', server: 'a.example' }, 'a.example')).toBe(false);
  });
});
