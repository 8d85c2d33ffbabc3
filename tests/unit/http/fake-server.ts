// A small in-memory server behind the c2s streams, for HTTP tests without the real core:
// PLAIN against a fixed user table, resource binding, delivery between bound sessions,
// an IQ ping answered by the server, and undelivered stanzas recorded.

import { DEFAULT_LIMITS, PREAUTH_LIMITS } from '../../../parser-wasm/host/limits.ts';
import type { StanzaView } from '../../../parser-wasm/host/types.ts';
import { Jid } from '../../../server/jid.ts';
import { Logger } from '../../../server/log.ts';
import type { BindResult, BoundSession, C2sEnv, SessionOwner } from '../../../server/streams/c2s-env.ts';
import type { SaslExchangeLike } from '../../../server/streams/sasl-negotiation.ts';
import { createHttpApp, type HttpApp } from '../../../server/http/app.ts';
import { DEFAULT_BOSH_OPTIONS, DEFAULT_WEBSOCKET_OPTIONS, type BoshOptions, type WebSocketOptions } from '../../../server/http/options.ts';
import type { Element } from '../../../server/xml/element.ts';

export const HOST = 'example.test';
const USERS: Record<string, string> = { alice: 'secret', bob: 'secret' };
const decoder = new TextDecoder();

export interface FakeServer {
  http: HttpApp;
  env: C2sEnv;
  sessions: Map<string, SessionOwner>;
  undelivered: Array<{ jid: string | undefined; stanzas: Element[] }>;
  log: string[];
}

export function fakeServer(overrides: { bosh?: Partial<BoshOptions>; websocket?: Partial<WebSocketOptions> } = {}): FakeServer {
  const sessions = new Map<string, SessionOwner>();
  const logLines: string[] = [];
  const log = new Logger('debug', (line) => logLines.push(line));
  let resourceCounter = 0;
  const env: C2sEnv = {
    log,
    isServedHost: (d) => d === HOST,
    defaultHost: HOST,
    tls: undefined,
    tlsRequired: false,
    limits: {
      preauth: { ...PREAUTH_LIMITS },
      authenticated: { ...DEFAULT_LIMITS, maxStanzaBytes: 65536 },
      preauthTimeoutMs: 60_000,
      maxOutboundBytes: 1 << 20,
      maxAuthFailures: 3,
    },
    saslMechanisms: () => ['PLAIN'],
    startSasl: (mechanism) => (mechanism === 'PLAIN' ? { ok: true, exchange: plainExchange() } : { ok: false, condition: 'invalid-mechanism' }),
    normalizeUsername: (u) => u.toLowerCase(),
    generateResource: () => `r${++resourceCounter}`,
    bind(owner: SessionOwner, user: string, host: string, resource: string | undefined): BindResult {
      const jid = new Jid(user, host, resource ?? `r${++resourceCounter}`);
      const old = sessions.get(jid.toString());
      if (old) old.closeWith('conflict');
      sessions.set(jid.toString(), owner);
      return { ok: true, session: { jid } };
    },
    routeFromClient(session: BoundSession, stanza: StanzaView): void {
      const to = stanza.attr('to');
      const from = session.jid.toString();
      if (to === undefined || to === HOST) {
        if (stanza.local === 'iq' && (stanza.attr('type') === 'get' || stanza.attr('type') === 'set')) {
          const el = stanza.toElement();
          const id = el.attr('id') ?? '';
          const ping = el.getChild('ping', 'urn:xmpp:ping');
          const reply = ping
            ? `<iq type='result' id='${id}' from='${HOST}' to='${from}'/>`
            : `<iq type='error' id='${id}' from='${HOST}' to='${from}'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`;
          sessions.get(from)?.deliver(reply);
        }
        return;
      }
      const targets = [...sessions.entries()].filter(([jid]) => jid === to || jid.startsWith(to + '/'));
      for (const [, owner] of targets) owner.deliver(stanza.spliceAttributes({ from }));
    },
    afterPendingWrites(fn: () => void): void {
      fn();
    },
    unbind(session: BoundSession): void {
      sessions.delete(session.jid.toString());
    },
    count: () => {},
  };
  const undelivered: FakeServer['undelivered'] = [];
  const http = createHttpApp({
    log,
    c2s: env,
    options: {
      secure: false,
      bosh: { ...DEFAULT_BOSH_OPTIONS, ...overrides.bosh },
      websocket: { ...DEFAULT_WEBSOCKET_OPTIONS, ...overrides.websocket },
    },
    undelivered: (jid, stanzas) => undelivered.push({ jid, stanzas }),
  });
  return { http, env, sessions, undelivered, log: logLines };
}

function plainExchange(): SaslExchangeLike {
  return {
    async step(input) {
      if (input === null) return { kind: 'challenge', data: new Uint8Array(0) };
      const [, authcid = '', password = ''] = decoder.decode(input).split('\0');
      if (USERS[authcid] !== password) return { kind: 'failure', condition: 'not-authorized' };
      return { kind: 'success', authcid };
    },
  };
}
