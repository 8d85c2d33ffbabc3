// XEP-0199 both ways:
//   - answers pings addressed to the server, and pings a client sends with no 'to' (those
//     reach the user's bare JID, which the server answers for: RFC 6121 §8.5.2.1.3);
//   - with ping_interval > 0, pings every bound client that often and closes a session that
//     does not answer within ping_req_timeout with <connection-timeout/>: a half-open TCP
//     connection (phone gone out of coverage) otherwise stays "online" for a long time.
// One ping per session at a time: an outstanding ping is not stacked with another.

import { defineModule } from '../server/core/registry.ts';
import { s, type Infer } from '../server/config/schema.ts';
import { NS_PING } from '../server/ns.ts';
import { xml } from '../server/xml/element.ts';
import { StanzaError, StreamError } from '../server/errors.ts';
import type { IqHandler } from '../server/core/iq.ts';
import type { Session } from '../server/core/sessions.ts';

const schema = s.object({
  /** Time between server pings to each client; 0 turns server pings off. */
  ping_interval: s.duration({ min: 0 }).default(0),
  /** How long a client has to answer a server ping before its session is closed. */
  ping_req_timeout: s.duration({ min: 1 }).default('32s'),
});

type Options = Infer<typeof schema>;

// A ping is a get (XEP-0199 §4); a set is not a ping request.
const answerPing: IqHandler = (req) => (req.type === 'get' ? null : new StanzaError('bad-request', { text: 'ping is an IQ get' }));

export const modPing = defineModule<Options>({
  name: 'mod_ping',
  xeps: ['XEP-0199'],
  defaults: schema.parse({}, ['modules', 'mod_ping']),
  schema,
  start(host, opts, ctx) {
    ctx.addFeature(NS_PING);
    ctx.addIqHandler('local', NS_PING, 'ping', answerPing);
    ctx.addIqHandler('sm', NS_PING, 'ping', answerPing);
    if (opts.ping_interval <= 0) return;

    const timers = new Map<Session, ReturnType<typeof setInterval>>();
    const outstanding = new Set<Session>();
    const pingOnce = (session: Session): void => {
      if (outstanding.has(session) || !timers.has(session)) return;
      outstanding.add(session);
      ctx.sendIq(session.jid, xml('iq', { type: 'get' }, xml('ping', { xmlns: NS_PING })), opts.ping_req_timeout).then(
        () => outstanding.delete(session),
        (err: Error) => {
          outstanding.delete(session);
          // An error answer (e.g. feature-not-implemented) still proves the client is alive.
          if (err.name !== 'IqTimeoutError' || !timers.has(session)) return;
          ctx.logger.info('ping_timeout', { host, jid: session.jid.toString() });
          session.close(new StreamError('connection-timeout', { text: 'no answer to ping' }));
        },
      );
    };
    ctx.addHook('session_opened', ({ session }) => {
      const timer = setInterval(() => pingOnce(session), opts.ping_interval);
      timer.unref?.();
      timers.set(session, timer);
    });
    ctx.addHook('session_closed', ({ session }) => {
      clearInterval(timers.get(session));
      timers.delete(session);
      outstanding.delete(session);
    });
    ctx.onStop(() => {
      for (const t of timers.values()) clearInterval(t);
      timers.clear();
      outstanding.clear();
    });
  },
});
