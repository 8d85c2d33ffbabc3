// One XMPP client of the load generator: logs in with the exact bytes of protocol.ts
// (stream header, SASL PLAIN or SCRAM-SHA-1, restart, bind, presence, a ping to sync) and
// then hands its socket's text to whoever drives the load. Also registers accounts
// (XEP-0077), so every server gets its bench users through its own registration code.

import { Connection, type ConnectOptions, type TextConnection } from './connection.ts';
import { ScramSha1Client, type SaltedPasswordCache } from './scram.ts';
import {
  RESOURCE, STREAM_CLOSE, bindRequest, plainAuth, presenceAndPing, registerRequest, saslResponse, scramAuth, streamOpen,
  type Mechanism,
} from './protocol.ts';

export interface LoginOptions extends ConnectOptions {
  domain: string;
  password: string;
  timeoutMs: number;
  /** PLAIN when not given. */
  mechanism?: Mechanism;
  /** SCRAM: reuse SaltedPassword from earlier logins (RFC 5802 §5.1); undefined: PBKDF2 every login. */
  scramCache?: SaltedPasswordCache;
}

export class XmppClient {
  readonly jid: string;
  private buffer = '';
  private wake: (() => void) | undefined;

  private constructor(
    readonly user: string,
    readonly conn: TextConnection,
    domain: string,
  ) {
    this.jid = `${user}@${domain}/${RESOURCE}`;
    conn.onText((text) => {
      this.buffer += text;
      this.wake?.();
    });
  }

  static async login(user: string, options: LoginOptions): Promise<XmppClient> {
    return XmppClient.loginOver(await Connection.open(options), user, options);
  }

  /** Logs in over an open transport (TCP or BOSH); closes it when the login fails. */
  static async loginOver(conn: TextConnection, user: string, options: Omit<LoginOptions, keyof ConnectOptions>): Promise<XmppClient> {
    const client = new XmppClient(user, conn, options.domain);
    try {
      await client.handshake(options);
    } catch (err) {
      await conn.close(200);
      throw err;
    }
    return client;
  }

  /** Creates the account with in-band registration on a fresh stream, then closes it. */
  static async register(user: string, options: LoginOptions): Promise<void> {
    const conn = await Connection.open(options);
    const client = new XmppClient(user, conn, options.domain);
    try {
      const deadline = Date.now() + options.timeoutMs;
      conn.write(streamOpen(options.domain));
      await client.expect('</stream:features>', deadline);
      conn.write(registerRequest(user, options.password));
      const answer = await client.expect('>', deadline, 'reg1');
      if (!/type=['"]result['"]/.test(answer)) throw new Error(`${user}: registration refused: ${answer}${client.buffer}`);
      conn.write(STREAM_CLOSE);
    } finally {
      await conn.close(500);
    }
  }

  private async handshake(o: Omit<LoginOptions, keyof ConnectOptions>): Promise<void> {
    const deadline = Date.now() + o.timeoutMs;
    this.conn.write(streamOpen(o.domain));
    await this.expect('</stream:features>', deadline);
    if ((o.mechanism ?? 'PLAIN') === 'PLAIN') {
      this.conn.write(plainAuth(this.user, o.password));
      await this.expect('<success', deadline);
    } else {
      await this.scram(o.password, deadline, o.scramCache);
    }
    this.conn.write(streamOpen(o.domain));
    await this.expect('</stream:features>', deadline);
    this.conn.write(bindRequest(RESOURCE));
    const bound = await this.expect('</iq>', deadline);
    if (!bound.includes(`<jid>${this.jid}</jid>`)) throw new Error(`${this.user}: unexpected bind answer: ${bound}`);
    this.conn.write(presenceAndPing(o.domain));
    // The answer is <iq type='result' id='sync1' .../> (or with an end tag): wait for the
    // end of its start tag, then check its type.
    const synced = await this.expect('>', deadline, 'sync1');
    if (!/<iq[^>]*type=['"]result['"][^>]*>$/.test(synced)) throw new Error(`${this.user}: ping failed: ${synced}`);
  }

  private async scram(password: string, deadline: number, cache: SaltedPasswordCache | undefined): Promise<void> {
    const scram = new ScramSha1Client(this.user, password, cache);
    this.conn.write(scramAuth(scram.first()));
    const challenge = await this.expect('</challenge>', deadline);
    this.conn.write(saslResponse(await scram.final(innerText(challenge, 'challenge'))));
    // The server signature comes in <success> (RFC 6120 §6.3.10) or, from some servers, in
    // one more challenge answered with an empty response.
    const next = await this.expectOneOf(['<success', '</challenge>'], deadline);
    if (next.endsWith('</challenge>')) {
      scram.verify(innerText(next, 'challenge'));
      this.conn.write(saslResponse(''));
      await this.expect('<success', deadline);
      await this.expect('>', deadline);
      return;
    }
    const rest = await this.expect('>', deadline);
    const success = '<success' + rest;
    if (success.endsWith('/>')) throw new Error(`${this.user}: SCRAM success without a server signature`);
    const end = await this.expect('</success>', deadline);
    scram.verify(end.slice(0, -'</success>'.length));
  }

  /**
   * Waits until the received text contains `marker` (after the first `id='after'`, when
   * given, in either quote style) and returns everything up to it, keeping the rest.
   * Failures and stream errors throw.
   */
  private async expect(marker: string, deadline: number, afterId?: string): Promise<string> {
    return this.expectOneOf([marker], deadline, afterId);
  }

  private async expectOneOf(markers: string[], deadline: number, afterId?: string): Promise<string> {
    for (;;) {
      let from = 0;
      if (afterId !== undefined) {
        const a = this.buffer.indexOf(`id='${afterId}'`);
        from = a >= 0 ? a : this.buffer.indexOf(`id="${afterId}"`);
      }
      let at = -1;
      let found = '';
      if (from >= 0) {
        for (const m of markers) {
          const i = this.buffer.indexOf(m, from);
          if (i >= 0 && (at < 0 || i < at)) {
            at = i;
            found = m;
          }
        }
      }
      if (at >= 0) {
        const upTo = at + found.length;
        const head = this.buffer.slice(0, upTo);
        this.buffer = this.buffer.slice(upTo);
        return head;
      }
      if (/<stream:error|<failure/.test(this.buffer)) throw new Error(`${this.user}: refused: ${this.buffer}`);
      if (this.conn.closed) throw new Error(`${this.user}: connection closed (${this.conn.error?.message ?? 'by peer'}); received: ${this.buffer}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.user}: timed out waiting for ${markers.join(' or ')}; received: ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Text received after login that nobody consumed (should be empty). */
  takeLeftover(): string {
    const s = this.buffer;
    this.buffer = '';
    return s;
  }

  async close(): Promise<void> {
    this.conn.write(STREAM_CLOSE);
    await this.conn.close();
  }
}

/** The text content of the last <name ...>…</name> element in `text`. */
function innerText(text: string, name: string): string {
  const start = text.lastIndexOf(`<${name}`);
  const open = text.indexOf('>', start);
  const close = text.lastIndexOf(`</${name}>`);
  return text.slice(open + 1, close).trim();
}
