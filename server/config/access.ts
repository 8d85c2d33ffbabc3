// [acl] and [access], MongooseIM style, and their evaluation.
//
// An ACL is a list of patterns; a JID is in the ACL when any pattern matches, and a
// pattern matches when every condition it names holds. An access rule is an ordered list
// of { acl, value }; the first entry whose ACL contains the JID gives the value, and no
// match gives "deny". The names "all" and "none" are built in for both.

import { ConfigError } from './error.ts';
import { s, type Infer } from './schema.ts';
import { domainName, name, nameOptions } from './common.ts';

const regexp = () =>
  s.string({ what: 'a regular expression' }).map((source, path, ctx) => {
    try {
      return new RegExp(source, 'u');
    } catch {
      throw new ConfigError(ctx.source, path, `expected a valid regular expression, got ${JSON.stringify(source)}`);
    }
  });

export const ACL_MATCH = ['all', 'none', 'current_domain', 'any_hosted_domain'] as const;

export const aclPatternSchema = s.object({
  /** Which servers the pattern covers; the other conditions narrow it further. */
  match: s.enumOf(ACL_MATCH).default('current_domain'),
  user: s.string().optional(),
  server: domainName().optional(),
  resource: s.string().optional(),
  user_regexp: regexp().optional(),
  server_regexp: regexp().optional(),
  resource_regexp: regexp().optional(),
});

export const accessEntrySchema = s.object({
  acl: name(),
  // allow/deny for permissions; a number or a name for rules that pick a limit or a shaper.
  value: s.oneOf<string | number>('"allow", "deny", an integer or a name', [
    s.enumOf(['allow', 'deny']),
    s.int(),
    name(),
  ]),
});

export const aclSchema = s.record(s.array(aclPatternSchema), nameOptions).default({ local: [{}] });

export const accessSchema = s.record(s.array(accessEntrySchema), nameOptions).default({
  c2s: [{ acl: 'all', value: 'allow' }],
  // In-band registration stays closed unless the operator opens it.
  register: [{ acl: 'all', value: 'deny' }],
});

export type AclPattern = Infer<typeof aclPatternSchema>;
export type AccessEntry = Infer<typeof accessEntrySchema>;
export type AclConfig = Infer<typeof aclSchema>;
export type AccessConfig = Infer<typeof accessSchema>;
export type AccessValue = string | number;

export const BUILTIN_NAMES: readonly string[] = ['all', 'none'];

/** Who is asking: the (already normalized) parts of a JID. `user` is '' for a server JID. */
export interface Subject {
  readonly user: string;
  readonly server: string;
  readonly resource?: string;
}

export interface AccessControl {
  /** Whether `who` is in ACL `aclName`, judged on virtual host `host`. */
  inAcl(aclName: string, who: Subject, host: string): boolean;
  /** The value access rule `rule` gives `who` on `host`; "deny" when no entry matches. */
  evaluate(rule: string, who: Subject, host: string): AccessValue;
  allowed(rule: string, who: Subject, host: string): boolean;
}

export function createAccessControl(config: {
  readonly acl: AclConfig;
  readonly access: AccessConfig;
  readonly general: { readonly hosts: ReadonlyArray<string> };
}): AccessControl {
  const hosts = new Set(config.general.hosts);

  const patternMatches = (p: AclPattern, who: Subject, host: string): boolean => {
    switch (p.match) {
      case 'none': return false;
      case 'current_domain': if (who.server !== host) return false; break;
      case 'any_hosted_domain': if (!hosts.has(who.server)) return false; break;
      case 'all': break;
    }
    if (p.user !== undefined && who.user !== p.user) return false;
    if (p.server !== undefined && who.server !== p.server) return false;
    if (p.resource !== undefined && who.resource !== p.resource) return false;
    if (p.user_regexp && !p.user_regexp.test(who.user)) return false;
    if (p.server_regexp && !p.server_regexp.test(who.server)) return false;
    if (p.resource_regexp && !p.resource_regexp.test(who.resource ?? '')) return false;
    return true;
  };

  const inAcl = (aclName: string, who: Subject, host: string): boolean => {
    if (aclName === 'all') return true;
    if (aclName === 'none') return false;
    const patterns = config.acl[aclName];
    if (!patterns) throw new Error(`unknown ACL "${aclName}"`);
    return patterns.some((p) => patternMatches(p, who, host));
  };

  const evaluate = (rule: string, who: Subject, host: string): AccessValue => {
    if (rule === 'all') return 'allow';
    if (rule === 'none') return 'deny';
    const entries = config.access[rule];
    if (!entries) throw new Error(`unknown access rule "${rule}"`);
    for (const entry of entries) if (inAcl(entry.acl, who, host)) return entry.value;
    return 'deny';
  };

  return { inAcl, evaluate, allowed: (rule, who, host) => evaluate(rule, who, host) === 'allow' };
}
