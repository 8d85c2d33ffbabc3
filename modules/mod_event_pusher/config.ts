// Options of mod_event_pusher. Each backend is a sub-table; the module runs the backends whose
// tables are present, and the push backend alone when neither is:
//
//   [modules.mod_event_pusher.push]      XEP-0357 "XMPP server" role
//   [modules.mod_event_pusher.http]      a JSON webhook
//
// Every queue and table the module keeps has a bound here (security rule 10).

import { s, type Infer } from '../../server/config/schema.ts';

export const pushSchema = s.object({
  /** Put the sender's JID in last-message-sender. */
  include_sender: s.bool().default(true),
  /** Put the message text in last-message-body (it then travels through the app server). */
  include_body: s.bool().default(true),
  /** Longest last-message-body sent, in characters; longer bodies are cut. */
  max_body_length: s.int({ min: 0 }).default(512),
  /** Registrations (devices) one account may have; enabling one more is refused. */
  max_registrations_per_user: s.int({ min: 1 }).default(10),
  /** Messages waiting for a push to be computed (registrations read from storage). Above it, pushes are skipped and counted. */
  max_queue: s.int({ min: 1 }).default(10_000),
  /** Publish requests sent and not yet answered, over all registrations. */
  max_pending: s.int({ min: 1 }).default(1000),
  /** How long an app server has to answer a publish. */
  publish_timeout: s.duration().default('10s'),
  /** Accounts whose unread count is remembered; beyond it the oldest are forgotten (their count restarts at 1). */
  max_tracked_users: s.int({ min: 1 }).default(100_000),
});

export const httpSchema = s.object({
  /** Where events are POSTed as JSON. */
  url: s.string({ pattern: /^https?:\/\/\S+$/, what: 'an http:// or https:// URL' }),
  /** Events waiting to be sent; when full, new events are dropped and counted. */
  max_queue: s.int({ min: 1 }).default(1000),
  /** Further attempts after a failed POST (network error, timeout, 5xx, 429). */
  retries: s.int({ min: 0 }).default(3),
  /** Wait before the first retry; doubled for each later one. */
  retry_delay: s.duration().default('1s'),
  /** Per request. */
  timeout: s.duration().default('5s'),
  /** Requests in flight at once. */
  workers: s.int({ min: 1, max: 64 }).default(4),
  /** Include the message text in events. */
  include_body: s.bool().default(false),
});

export const eventPusherSchema = s.object({
  push: pushSchema.optional(),
  http: httpSchema.optional(),
});

export type PushOptions = Infer<typeof pushSchema>;
export type HttpOptions = Infer<typeof httpSchema>;
export type EventPusherOptions = Infer<typeof eventPusherSchema>;
