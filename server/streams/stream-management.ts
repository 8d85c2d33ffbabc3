// The seam between a c2s stream and stream management (XEP-0198). The stream knows where SM
// elements may appear and which bytes are stanzas; mod_stream_management knows the
// protocol state (counters, the unacked buffer, resumption ids, hibernation). They meet
// through these interfaces, and a stream finds its host's provider through the registry at
// the bottom (server code never imports a module).

import type { Element } from '../xml/element.ts';
import type { Jid } from '../jid.ts';
import type { Hooks } from '../core/hooks.ts';
import type { StreamErrorCondition } from '../errors.ts';
import type { BoundSession } from './c2s-env.ts';

/** What SM may do to the stream currently carrying it. */
export interface SmStreamLink {
  /** Writes a stream-level element (<r/>, <a/>) or a re-sent stanza. */
  write(data: string | Uint8Array): void;
  /** Ends the stream with a stream error; the stream then calls SmState.end(). */
  fail(condition: StreamErrorCondition, text?: string, appCondition?: Element): void;
  /**
   * Another connection resumed this session while this stream was still open: the stream
   * lets go of the session and SM state without ending them, then closes with `conflict`.
   */
  takenOver(): void;
  /** Removes the session from the session table (the stream's own unbind, with its metrics). */
  unbind(session: BoundSession, reason: string): void;
  /** Counts an event for metrics (`sm_…`). */
  count(what: string, labels?: Record<string, string>): void;
}

/** SM state of one session, driven by whichever stream carries it now. */
export interface SmState {
  /** The client sent a stanza and the server handled it (counts towards our h). */
  handled(): void;
  /**
   * Writes a stanza to the client (or buffers it while hibernated) and keeps the bytes — a
   * copy the caller gives away — until acknowledged. Over the buffer limit the stream ends
   * instead, and the stanza is rerouted with the rest.
   */
  send(bytes: string | Uint8Array): void;
  /** <r/> from the client: the <a/> to answer with. */
  answerAckRequest(): string;
  /** <a h='…'/> from the client; a count above what we sent ends the stream. */
  acknowledged(h: string | undefined): void;
  /**
   * The stream ended. `lost`: the connection went away without a clean close, so a
   * resumable session hibernates (stays bound, buffers) and this returns true. Otherwise
   * the session is unbound and its unacked stanzas are rerouted; returns false.
   */
  end(lost: boolean, reason: string): boolean;
}

export type SmEnableResult = { ok: true; state: SmState; reply: string } | { ok: false; reply: string };
export type SmResumeResult =
  | { ok: true; state: SmState; session: BoundSession; reply: string; resend: Array<string | Uint8Array> }
  | { ok: false; reply: string };

export interface StreamManagementProvider {
  /** <enable/> on a bound stream. */
  enable(session: BoundSession, request: Element, link: SmStreamLink): SmEnableResult;
  /** <resume/> on an authenticated stream before bind, by the bare JID that authenticated. */
  resume(user: Jid, request: Element, link: SmStreamLink): SmResumeResult;
}

// Providers per core (its Hooks instance identifies it) and host.
const providers = new WeakMap<Hooks, Map<string, StreamManagementProvider>>();

/** Makes SM available on a host's streams; returns the removal. */
export function registerStreamManagement(hooks: Hooks, host: string, provider: StreamManagementProvider): () => void {
  let byHost = providers.get(hooks);
  if (byHost === undefined) providers.set(hooks, (byHost = new Map()));
  byHost.set(host, provider);
  return () => {
    if (byHost.get(host) === provider) byHost.delete(host);
  };
}

export function streamManagementFor(hooks: Hooks, host: string): StreamManagementProvider | undefined {
  return providers.get(hooks)?.get(host);
}
