// XEP-0198 Stream Management (urn:xmpp:sm:3) for client streams: acknowledgements both
// ways, and resumption of a session whose connection was lost.
//
//   - <sm/> is offered after authentication. <enable/> after bind starts counting; with
//     resume='true' (and resume_timeout > 0) the answer carries an id from the CSPRNG and
//     max = the shorter of the client's wish and resume_timeout.
//   - The server answers <r/> with our h, and asks for the client's h after
//     ack_request_every stanzas, or ack_request_delay after a stanza if fewer were sent.
//   - A client h above what we sent ends the stream: undefined-condition with
//     <handled-count-too-high/> (XEP-0198 §4). More than max_unacked stanzas waiting for an
//     ack ends it with resource-constraint: the buffer is server memory the client is not
//     freeing. Either way what was not acknowledged is rerouted, never dropped.
//   - A lost connection hibernates the session: it keeps its place in the session table and
//     stanzas for it are buffered, until a <resume/> by the same bare JID takes it over (an
//     older connection still open is closed with conflict), or resume_timeout ends it and
//     the buffer is rerouted (session-state.ts).
//   - A failed resume is <failed><item-not-found/></failed>, with the old session's h when
//     the same user asks about a session that ended recently (XEP-0198 1.6). Another user's
//     id is indistinguishable from an unknown one.

import { randomBytes } from 'node:crypto';
import { defineModule } from '../../server/core/registry.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { NS_SM } from '../../server/ns.ts';
import { Element } from '../../server/xml/element.ts';
import { registerStreamManagement, type StreamManagementProvider } from '../../server/streams/stream-management.ts';
import { SmSessionState, type SmEnvironment, type SmSettings } from './session-state.ts';
import { enabledXml, failedXml, handledCountTooHigh, parseH, resumedXml } from './protocol.ts';

const schema = s.object({
  /** How long a lost session waits to be resumed; 0 turns resumption off. */
  resume_timeout: s.duration({ min: 0 }).default('600s'),
  /** Unacknowledged stanzas kept per session (also while hibernated); one more ends it. */
  max_unacked: s.int({ min: 1 }).default(1000),
  /** Ask the client for an ack after this many stanzas. */
  ack_request_every: s.int({ min: 1 }).default(5),
  /** ...or this long after a stanza, when fewer were sent. */
  ack_request_delay: s.duration({ min: 1 }).default('5s'),
  /** Ended sessions whose id and h are remembered, to answer a late resume with its h. */
  remember_ended: s.int({ min: 0 }).default(10000),
});
type Options = Infer<typeof schema>;

interface EndedSession {
  readonly owner: string;
  readonly h: number;
}

export const modStreamManagement = defineModule<Options>({
  name: 'mod_stream_management',
  xeps: ['XEP-0198'],
  defaults: schema.parse({}, ['modules', 'mod_stream_management']),
  schema,
  start(host, opts, ctx) {
    const settings: SmSettings = {
      resumeTimeoutMs: opts.resume_timeout,
      maxUnacked: opts.max_unacked,
      ackRequestEvery: opts.ack_request_every,
      ackRequestDelayMs: opts.ack_request_delay,
    };
    /** Resumable sessions, live or hibernating, by id. */
    const resumable = new Map<string, SmSessionState>();
    /** Recently ended ones (insertion order = age), bounded by remember_ended. */
    const ended = new Map<string, EndedSession>();

    const env: SmEnvironment = {
      host,
      router: ctx.router,
      log: ctx.logger,
      ended(state) {
        if (state.id === undefined || resumable.get(state.id) !== state) return;
        resumable.delete(state.id);
        if (opts.remember_ended === 0) return;
        ended.set(state.id, { owner: state.owner, h: state.h });
        if (ended.size > opts.remember_ended) ended.delete(ended.keys().next().value!);
      },
    };

    const provider: StreamManagementProvider = {
      enable(session, request, link) {
        const wantsResume = request.attr('resume') === 'true' || request.attr('resume') === '1';
        let id: string | undefined;
        let seconds = 0;
        // A session whose stream cannot hand it over (attach) is acknowledged but not resumable.
        if (wantsResume && settings.resumeTimeoutMs > 0 && session.attach !== undefined) {
          id = randomBytes(18).toString('base64url');
          seconds = Math.max(1, Math.floor(settings.resumeTimeoutMs / 1000));
          const asked = parseH(request.attr('max'));
          if (asked !== undefined && asked > 0) seconds = Math.min(seconds, asked);
        }
        const state = new SmSessionState(session, id, seconds, link, settings, env);
        if (id !== undefined) resumable.set(id, state);
        link.count('sm_enabled', { resume: String(id !== undefined) });
        return { ok: true, state, reply: enabledXml(id, id === undefined ? undefined : seconds) };
      },

      resume(user, request, link) {
        const previd = request.attr('previd') ?? '';
        const h = parseH(request.attr('h'));
        const owner = user.bare().toString();
        if (h === undefined) {
          link.count('sm_resume_failed', { condition: 'bad-request' });
          return { ok: false, reply: failedXml('bad-request') };
        }
        const state = resumable.get(previd);
        // Only the account that enabled it may resume a session (security rule 7).
        if (state === undefined || state.isFinished || state.owner !== owner) {
          const old = ended.get(previd);
          link.count('sm_resume_failed', { condition: 'item-not-found' });
          return { ok: false, reply: failedXml('item-not-found', old?.owner === owner ? old.h : undefined) };
        }
        if (!state.acceptsResumeH(h)) {
          link.count('sm_resume_failed', { condition: 'handled-count-too-high' });
          return { ok: false, reply: failedXml('undefined-condition', state.h, handledCountTooHigh(h, state.sent).toString()) };
        }
        const resend = state.takeOver(link, h);
        link.count('sm_resumed');
        ctx.logger.info('sm_session_resumed', { jid: state.session.jid.toString(), resent: resend.length });
        return { ok: true, state, session: state.session, reply: resumedXml(previd, state.h), resend };
      },
    };

    ctx.onStop(registerStreamManagement(ctx.hooks, host, provider));
    const endHibernating = (reason: string) => {
      for (const state of [...resumable.values()]) if (state.hibernating) state.terminate(reason);
    };
    // At node shutdown, before any module stops: what hibernating sessions buffered goes to
    // another resource or offline storage while those still run.
    ctx.addHook('node_stopping', () => endHibernating('server shutting down'));
    ctx.onStop(() => {
      // Hibernating sessions end with the module; what they buffered is rerouted.
      endHibernating('stream management stopped');
      resumable.clear();
      ended.clear();
    });

    ctx.addHook('c2s_stream_features', ({ authenticated, features }) => {
      if (authenticated) features.push(new Element('sm', { xmlns: NS_SM }));
    });
  },
});
