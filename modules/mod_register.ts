// XEP-0077 In-Band Registration. Off unless [modules.mod_register] is configured.
//
//   Before authentication (the stream hands the IQ over on c2s_unauthenticated_iq, and only
//   where SASL would be allowed, i.e. after STARTTLS when TLS is required):
//     get → the form (username, password); set → creates the account.
//   After authentication (IQs to one's own account or the server):
//     get → <registered/> and the username; set with username+password → new password;
//     set with <remove/> → the account and its data are removed and its sessions closed.
//
// Abuse control for account creation, per listener address of the client:
//   - max_per_ip registrations per ip_window from one IP address (default 3 per hour);
//     over it → <resource-constraint/> (type wait). Counting attempts, not only successes,
//     keeps the form from being used to probe which usernames exist.
//   - allowed_ips: when set, only these addresses (exact, or IPv4 "a.b.c.d/n") may register.
//   - min_password_length.
// The global [access] register rule is not consulted yet: enabling this module is the switch.
//
// Workers: a removal is announced to the other workers of the node ('account_removed'), which
// close the account's sessions they hold.

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_REGISTER } from '../server/ns.ts';
import { Element, xml } from '../server/xml/element.ts';
import { StanzaError, StreamError, errorReplyFor } from '../server/errors.ts';
import { STOP } from '../server/core/hooks.ts';
import { Packet } from '../server/core/packet.ts';
import { deriveCredentials, type StoredCredentials } from '../server/auth/credentials.ts';
import { makeJid, tryParseJid, type Jid } from '../server/jid.ts';
import type { IqRequest } from '../server/core/iq.ts';

/** Stream feature announcing registration before authentication (XEP-0077 §4). */
export const NS_REGISTER_FEATURE = 'http://jabber.org/features/iq-register';

const schema = s.object({
  /** Registrations one IP address may attempt per ip_window. */
  max_per_ip: s.int({ min: 1 }).default(3),
  ip_window: s.duration().default('1h'),
  /** When set, only these client addresses may register (exact addresses or IPv4 CIDR blocks). */
  allowed_ips: s.array(s.string({ pattern: /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/, what: 'an IP address or an IPv4 CIDR block' })).optional(),
  min_password_length: s.int({ min: 1 }).default(8),
  /** PBKDF2 iterations for the stored SCRAM credentials (RFC 7677 asks for at least 4096). */
  scram_iterations: s.int({ min: 4096, max: 10_000_000 }).default(10000),
  instructions: s.string().default('Choose a username and password for use with this service.'),
});
type Options = Infer<typeof schema>;

const ACCOUNT_REMOVED = 'account_removed';

export const modRegister = defineModule<Options>({
  name: 'mod_register',
  xeps: ['XEP-0077'],
  defaults: schema.parse({}, ['modules', 'mod_register']),
  schema,
  start(host, opts, ctx) {
    const users = ctx.storage.users;
    const attempts = new Map<string, number[]>(); // IP → attempt times (ms), oldest first
    ctx.addFeature(NS_REGISTER);

    const underLimit = (ip: string): boolean => {
      const now = Date.now();
      const recent = (attempts.get(ip) ?? []).filter((t) => now - t < opts.ip_window);
      if (recent.length >= opts.max_per_ip) {
        attempts.set(ip, recent);
        return false;
      }
      recent.push(now);
      attempts.set(ip, recent);
      // Forget addresses with nothing recent, so the map stays as small as the traffic.
      if (attempts.size > 10_000) for (const [k, v] of attempts) if (v.every((t) => now - t >= opts.ip_window)) attempts.delete(k);
      return true;
    };

    const form = (): Element => xml('query', { xmlns: NS_REGISTER },
      xml('instructions', null, opts.instructions), xml('username'), xml('password'));

    const register = async (query: Element, ip: string): Promise<StanzaError | null> => {
      if (query.getChild('remove') !== undefined) return new StanzaError('not-authorized', { text: 'log in to remove an account' });
      if (opts.allowed_ips !== undefined && !opts.allowed_ips.some((rule) => ipMatches(rule, ip))) {
        return new StanzaError('not-allowed', { text: 'registration is not open from this address' });
      }
      const fields = readFields(query);
      if (fields === undefined) return new StanzaError('not-acceptable', { text: 'username and password are required' });
      let jid: Jid;
      try {
        jid = makeJid(fields.username, host);
      } catch {
        return new StanzaError('not-acceptable', { text: 'the username is not valid' });
      }
      if ([...fields.password].length < opts.min_password_length) {
        return new StanzaError('not-acceptable', { text: `the password needs at least ${opts.min_password_length} characters` });
      }
      if (!underLimit(ip)) return new StanzaError('resource-constraint', { text: 'too many registrations from this address; try later' });
      const credentials = await derive(fields.password, opts.scram_iterations);
      if (credentials === undefined) return new StanzaError('not-acceptable', { text: 'the password contains characters that are not allowed' });
      if (!(await users.create(host, jid.local, credentials))) return new StanzaError('conflict', { text: 'the username is taken' });
      ctx.logger.info('account_registered', { user: jid.toString(), remote: ip });
      await ctx.hooks.runAsync('register_user', host, { jid });
      return null;
    };

    ctx.addHook('c2s_stream_features', ({ authenticated, features }) => {
      if (!authenticated) features.push(new Element('register', { xmlns: NS_REGISTER_FEATURE }));
    });

    ctx.addHook('c2s_unauthenticated_iq', async (args) => {
      const iq = args.stanza;
      const query = iq.getChild('query', NS_REGISTER);
      if (query === undefined) return undefined;
      const type = iq.attr('type');
      const id = iq.attr('id');
      let answer: Element | StanzaError | null;
      if (type === 'get') answer = form();
      else if (type === 'set') answer = await register(query, args.remoteAddress);
      else answer = new StanzaError('bad-request');
      if (answer instanceof StanzaError) {
        // Never echo the query back: it holds the password.
        args.reply = errorReplyFor(iq, answer, { includeOriginal: false }) ?? new Element('iq', { type: 'error', id });
      } else {
        args.reply = new Element('iq', { type: 'result', id }, answer === null ? [] : [answer]);
      }
      return STOP;
    });

    const closeSessions = (user: Jid): void => {
      for (const session of [...ctx.sessions.resources(user)]) {
        session.close(new StreamError('not-authorized', { text: 'the account was removed' }));
      }
    };
    ctx.onWorkerNotice(ACCOUNT_REMOVED, (data) => {
      const user = tryParseJid(data);
      if (user !== undefined && user.domain === host) closeSessions(user.bare());
    });

    // ── authenticated: own account only ─────────────────────────────────────────
    const ownAccount = async (req: IqRequest) => {
      const user = req.from.bare();
      if (!(req.to.isDomain || req.to.bare().equals(user)) || user.domain !== host) return new StanzaError('forbidden');
      if (req.type === 'get') {
        return xml('query', { xmlns: NS_REGISTER }, xml('registered'), xml('username', null, user.local));
      }
      if (req.payload.getChild('remove') !== undefined) {
        await ctx.hooks.runAsync('remove_user', host, { jid: user });
        await users.remove(host, user.local);
        ctx.logger.info('account_removed', { user: user.toString() });
        // The account no longer exists, so the router would not deliver the result to it:
        // write it to the requesting session directly (the dispatcher's own copy is dropped,
        // as an IQ result to a nonexistent account is). Then end every session (§3.2).
        const requester = ctx.sessions.get(req.from);
        if (requester !== undefined) {
          const result = new Element('iq', { type: 'result', id: req.id, from: req.to.toString(), to: req.from.toString() });
          ctx.router.deliver(requester, Packet.fromElement(result));
        }
        ctx.notifyWorkers(ACCOUNT_REMOVED, user.toString());
        setTimeout(() => closeSessions(user), 0);
        return null;
      }
      const fields = readFields(req.payload);
      if (fields === undefined) return new StanzaError('bad-request', { text: 'username and password are required' });
      let named: Jid;
      try {
        named = makeJid(fields.username, host);
      } catch {
        return new StanzaError('bad-request', { text: 'the username is not valid' });
      }
      if (!named.equals(user)) return new StanzaError('not-authorized', { text: 'you can only change your own password' });
      if ([...fields.password].length < opts.min_password_length) {
        return new StanzaError('not-acceptable', { text: `the password needs at least ${opts.min_password_length} characters` });
      }
      const credentials = await derive(fields.password, opts.scram_iterations);
      if (credentials === undefined) return new StanzaError('not-acceptable', { text: 'the password contains characters that are not allowed' });
      const changed = await users.setCredentials(host, user.local, credentials);
      if (!changed) return new StanzaError('item-not-found');
      ctx.logger.info('password_changed', { user: user.toString() });
      return null;
    };
    ctx.addIqHandler('sm', NS_REGISTER, 'query', ownAccount);
    ctx.addIqHandler('local', NS_REGISTER, 'query', ownAccount);
  },
});

/** SCRAM credentials, or undefined for a password SASLprep refuses. */
async function derive(password: string, iterations: number): Promise<StoredCredentials | undefined> {
  try {
    return await deriveCredentials(password, { iterations });
  } catch (err) {
    if (err instanceof RangeError || err instanceof TypeError) throw err;
    return undefined;
  }
}

function readFields(query: Element): { username: string; password: string } | undefined {
  const username = query.getChildText('username');
  const password = query.getChildText('password');
  if (username === undefined || password === undefined || username === '' || password === '') return undefined;
  return { username, password };
}

/** An exact address, or an IPv4 CIDR block; IPv4-mapped IPv6 addresses count as IPv4. */
export function ipMatches(rule: string, ip: string): boolean {
  const address = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  const slash = rule.indexOf('/');
  if (slash < 0) return rule === address || rule === ip;
  const base = ipv4ToInt(rule.slice(0, slash));
  const value = ipv4ToInt(address);
  const bits = Number(rule.slice(slash + 1));
  if (base === undefined || value === undefined || bits > 32) return false;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((base & mask) >>> 0) === ((value & mask) >>> 0);
}

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}
