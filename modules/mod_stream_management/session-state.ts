// The XEP-0198 state of one session: what the client handed us (our h), what we sent and it
// has not acknowledged (a copy of the bytes, in order), and whether a connection carries it.
//
// The state outlives its stream. When the connection is lost and the session is resumable,
// the state becomes the session's owner: stanzas routed to the session are buffered (and
// counted, so a resuming client gets them with the rest) until a resume hands it to a new
// stream, or the timeout ends it. However it ends, the session leaves the session table
// first, then every unacknowledged stanza is rerouted (security rule 6): messages to the
// bare JID (another resource, offline storage or an error to the sender), IQ requests
// answered service-unavailable, presence dropped — XEP-0198 §5 "as if sent to an
// unavailable resource". Messages get a <delay/> (XEP-0203) saying when we first sent them.

import type { BoundSession, SessionOwner } from '../../server/streams/c2s-env.ts';
import type { SmState, SmStreamLink } from '../../server/streams/stream-management.ts';
import type { StreamErrorCondition } from '../../server/errors.ts';
import type { Router } from '../../server/core/router.ts';
import type { Logger } from '../../server/log.ts';
import { rerouteUndelivered } from '../../server/core/undelivered.ts';
import { NS_DELAY } from '../../server/ns.ts';
import { parseStoredElement } from '../stored-xml.ts';
import { ownedBytes } from '../../server/bytes.ts';
import { ACK_REQUEST, ackXml, H_MODULUS, handledCountTooHigh, parseH } from './protocol.ts';

export interface SmSettings {
  /** How long a lost session waits for a resume; 0 = not resumable. */
  resumeTimeoutMs: number;
  /** Unacknowledged stanzas kept per session; one more ends the stream. */
  maxUnacked: number;
  /** Request an ack after this many stanzas sent since the last request. */
  ackRequestEvery: number;
  /** Request an ack this long after a stanza was sent, if none was requested since. */
  ackRequestDelayMs: number;
}

/** What a state needs from the module around it. */
export interface SmEnvironment {
  readonly host: string;
  readonly router: Router;
  readonly log: Logger;
  /** The state ended for good: forget its resumption id (remember its h for failed resumes). */
  ended(state: SmSessionState): void;
}

interface Unacked {
  readonly bytes: string | Uint8Array;
  /** When the stanza was first written or buffered (for <delay/> when it is rerouted). */
  readonly at: number;
}

const decoder = new TextDecoder();

export class SmSessionState implements SmState, SessionOwner {
  /** Our h: stanzas the client sent that we handled, mod 2^32. */
  private handledCount = 0;
  /** Stanzas sent (written or buffered), mod 2^32. */
  private sentCount = 0;
  /** The client's last h. */
  private ackedCount = 0;
  private queue: Unacked[] = [];
  private head = 0;
  private sinceRequest = 0;
  private requestTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  private connected = true;
  private finished = false;

  constructor(
    readonly session: BoundSession,
    /** The id a client resumes with; undefined when the session is not resumable. */
    readonly id: string | undefined,
    /** Seconds a lost session waits for a resume (the 'max' we announced). */
    readonly resumeSeconds: number,
    private link: SmStreamLink,
    private readonly settings: SmSettings,
    private readonly env: SmEnvironment,
  ) {}

  /** The bare JID allowed to resume this session. */
  get owner(): string {
    return this.session.jid.bare().toString();
  }

  get hibernating(): boolean {
    return !this.connected && !this.finished;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Our h (what <resumed/> and a failed resume report). */
  get h(): number {
    return this.handledCount;
  }

  /** Stanzas sent so far, mod 2^32 (the send-count of handled-count-too-high). */
  get sent(): number {
    return this.sentCount;
  }

  get unacked(): number {
    return this.queue.length - this.head;
  }

  // ── SmState (driven by the stream) ─────────────────────────────────────────────

  handled(): void {
    this.handledCount = (this.handledCount + 1) % H_MODULUS;
  }

  send(bytes: string | Uint8Array): void {
    if (this.finished) return;
    this.queue.push({ bytes, at: Date.now() });
    this.sentCount = (this.sentCount + 1) % H_MODULUS;
    if (this.unacked > this.settings.maxUnacked) {
      // resource-constraint: the buffer is the server's resource, and the client is not
      // (or no longer) acknowledging. The stanza just taken goes back with the rest.
      this.link.count('sm_buffer_overflows');
      if (this.connected) this.link.fail('resource-constraint', 'too many unacknowledged stanzas');
      else this.terminate('stream management buffer full');
      return;
    }
    if (!this.connected) return;
    this.link.write(bytes);
    this.sinceRequest++;
    if (this.sinceRequest >= this.settings.ackRequestEvery) this.requestAck();
    else if (this.requestTimer === undefined) {
      this.requestTimer = setTimeout(() => this.requestAck(), this.settings.ackRequestDelayMs);
      this.requestTimer.unref?.();
    }
  }

  answerAckRequest(): string {
    return ackXml(this.handledCount);
  }

  acknowledged(hAttr: string | undefined): void {
    if (this.finished) return;
    const h = parseH(hAttr);
    if (h === undefined) {
      this.link.fail('invalid-xml', "<a/> needs an 'h' between 0 and 2^32-1");
      return;
    }
    if (!this.dropAcknowledged(h)) {
      this.link.count('sm_handled_count_too_high');
      this.link.fail('undefined-condition', 'the client acknowledged more stanzas than were sent', handledCountTooHigh(h, this.sentCount));
    }
  }

  end(lost: boolean, reason: string): boolean {
    if (this.finished) return false;
    this.clearRequestTimer();
    if (lost && this.id !== undefined && this.resumeSeconds > 0) {
      this.hibernate();
      return true;
    }
    this.terminate(reason);
    return false;
  }

  // ── SessionOwner while hibernating ─────────────────────────────────────────────

  deliver(parts: string | Uint8Array[]): void {
    this.send(ownedBytes(parts));
  }

  closeWith(condition: StreamErrorCondition): void {
    // A ping timeout says what we already know; anything else (replaced by a new bind,
    // kicked, shutdown) ends the session now.
    if (condition === 'connection-timeout') return;
    this.terminate(condition);
  }

  // ── resumption ─────────────────────────────────────────────────────────────────

  /**
   * Checks a resuming client's h without changing anything: false when it acknowledges
   * more than was sent.
   */
  acceptsResumeH(h: number): boolean {
    return ((h - this.ackedCount + H_MODULUS) % H_MODULUS) <= this.unacked;
  }

  /**
   * Hands the session to a new stream: the old connection (if the server has not noticed
   * it is gone) is closed, the client's h drops what it got, and the rest is returned to be
   * written again, in order, once.
   */
  takeOver(link: SmStreamLink, h: number): Array<string | Uint8Array> {
    if (this.connected) this.link.takenOver();
    this.clearRequestTimer();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.link = link;
    this.connected = true;
    this.dropAcknowledged(h);
    this.sinceRequest = 0;
    const resend: Array<string | Uint8Array> = [];
    for (let i = this.head; i < this.queue.length; i++) resend.push(this.queue[i]!.bytes);
    return resend;
  }

  /** Ends the session for good: out of the session table, then every unacked stanza rerouted. */
  terminate(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.connected = false;
    this.clearRequestTimer();
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.env.ended(this);
    this.link.unbind(this.session, reason);
    const pending = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    if (pending.length > 0) this.reroute(pending, reason);
  }

  // ── internals ──────────────────────────────────────────────────────────────────

  private hibernate(): void {
    this.connected = false;
    this.session.attach?.(this);
    this.link.count('sm_hibernated');
    this.env.log.info('sm_session_hibernated', { jid: this.session.jid.toString(), unacked: this.unacked, timeout_s: this.resumeSeconds });
    this.expiryTimer = setTimeout(() => {
      this.link.count('sm_resume_timeouts');
      this.terminate('stream management resumption timed out');
    }, this.resumeSeconds * 1000);
    this.expiryTimer.unref?.();
  }

  /** Drops the stanzas an h acknowledges; false (and nothing dropped) when h is too high. */
  private dropAcknowledged(h: number): boolean {
    const count = (h - this.ackedCount + H_MODULUS) % H_MODULUS;
    if (count > this.unacked) return false;
    this.head += count;
    this.ackedCount = h;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  private requestAck(): void {
    this.clearRequestTimer();
    this.sinceRequest = 0;
    if (this.connected && !this.finished && this.unacked > 0) this.link.write(ACK_REQUEST);
  }

  private clearRequestTimer(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private reroute(pending: Unacked[], reason: string): void {
    const outcome = { rerouted: 0, bounced: 0, dropped: 0 };
    for (const entry of pending) {
      const text = typeof entry.bytes === 'string' ? entry.bytes : decoder.decode(entry.bytes);
      const stanza = parseStoredElement(text);
      if (stanza === undefined) {
        // Bytes we wrote ourselves always parse; this would be a bug, so say so loudly.
        this.env.log.error('sm_unacked_unparsable', { jid: this.session.jid.toString() });
        outcome.dropped++;
        this.link.count('sm_unacked', { outcome: 'dropped' });
        continue;
      }
      if (stanza.localName === 'message') {
        stanza.c('delay', { xmlns: NS_DELAY, from: this.env.host, stamp: new Date(entry.at).toISOString() });
      }
      let result: keyof typeof outcome;
      try {
        result = rerouteUndelivered({ router: this.env.router }, this.session.jid, stanza);
      } catch (err) {
        this.env.log.error('sm_reroute_failed', { jid: this.session.jid.toString(), error: err });
        result = 'dropped';
      }
      outcome[result]++;
      this.link.count('sm_unacked', { outcome: result });
    }
    this.env.log.info('sm_unacked_rerouted', { jid: this.session.jid.toString(), reason, ...outcome });
  }
}

