// Builds the C2sEnv a client stream runs against, from the node's core, storage, SASL
// registry and configuration. One env per listener (limits and TLS differ per listener).

import { randomBytes } from 'node:crypto';
import type { StanzaView } from '../../parser-wasm/host/types.ts';
import type { Core } from '../core/node.ts';
import { Packet } from '../core/packet.ts';
import type { MechanismRegistry } from '../auth/sasl/registry.ts';
import { verifiedPeerCertificate } from '../auth/cert/peer.ts';
import type { ClientCertificateVerifier } from '../auth/cert/verify.ts';
import type { Storage } from '../storage/storage.ts';
import type { TlsCredentials } from '../runtime/types.ts';
import { tryParseJid, makeJid, type Jid } from '../jid.ts';
import { StanzaError } from '../errors.ts';
import { NS_REGISTER } from '../ns.ts';
import type { Logger } from '../log.ts';
import { Element } from '../xml/element.ts';
import { channelBindingFor } from './channel-binding.ts';
import type { BindResult, C2sEnv, C2sLimits, SessionOwner } from './c2s-env.ts';
import { C2sSession } from './c2s-session.ts';
import type { Metrics } from '../metrics.ts';
import { streamManagementFor } from './stream-management.ts';

export interface C2sWiringOptions {
  core: Core;
  storage: Storage;
  sasl: MechanismRegistry;
  serverSecret: Uint8Array;
  /** Iterations new accounts get; unknown users' decoy credentials use the same. */
  scramIterations: number;
  tls: TlsCredentials | undefined;
  tlsRequired: boolean;
  limits: C2sLimits;
  defaultHost: string;
  log: Logger;
  metrics: Metrics;
  transportName: string;
  /** Verifies TLS client certificates for SASL EXTERNAL; absent = the listener does not ask for them. */
  clientCertificates?: ClientCertificateVerifier;
}

export function createC2sEnv(o: C2sWiringOptions): C2sEnv {
  const { core, log, metrics } = o;
  const hosts = new Set(core.hosts);
  // Module stream features per host and state: every login sends features twice, and
  // building them runs the hook (mod_disco hashes its entity capabilities). Valid while no
  // hook handler or disco feature was added or removed (the hook's contract).
  const moduleFeatures = new Map<string, { hooks: number; features: number; xml: string }>();
  return {
    log,
    isServedHost: (domain) => hosts.has(domain),
    defaultHost: o.defaultHost,
    tls: o.tls,
    tlsRequired: o.tlsRequired,
    limits: o.limits,

    saslMechanisms(conn) {
      return o.sasl.offered({
        channelBinding: channelBindingFor(conn.tls),
        peerCertificate: verifiedPeerCertificate(o.clientCertificates, conn.tls, log),
      });
    },

    startSasl(mechanism, conn, offered) {
      const host = conn.host;
      const started = o.sasl.start(mechanism, {
        channelBinding: channelBindingFor(conn.tls),
        peerCertificate: verifiedPeerCertificate(o.clientCertificates, conn.tls, log),
        host,
        serverSecret: o.serverSecret,
        decoyIterations: o.scramIterations,
        offeredMechanisms: offered,
        lookupCredentials: async (username) => {
          const local = normalizeUsername(username);
          if (local === undefined) return undefined;
          const started = performance.now();
          const record = await o.storage.users.get(host, local);
          metrics.observe('storage_latency_seconds', (performance.now() - started) / 1000, { op: 'user_get' });
          return record?.credentials;
        },
      });
      if (started.ok) return { ok: true, exchange: countFailures(started.exchange, mechanism, metrics) };
      metrics.inc('auth_failures_by_mechanism_total', { mechanism });
      return { ok: false, condition: started.step.condition };
    },

    normalizeUsername,

    generateResource: () => randomBytes(9).toString('base64url'),

    bind(owner: SessionOwner, user: string, host: string, resource: string | undefined): BindResult {
      const wanted = resource ?? randomBytes(9).toString('base64url');
      let jid: Jid;
      try {
        jid = makeJid(user, host, wanted);
      } catch {
        return { ok: false, condition: 'bad-request', text: 'the resource is not valid' };
      }
      const session = new C2sSession(jid, owner, o.transportName);
      const opened = core.sessions.open(session);
      if (opened === 'limit') return { ok: false, condition: 'resource-constraint', text: 'too many resources are bound' };
      metrics.inc('sessions_opened_total', { transport: o.transportName });
      log.info('c2s_session_bound', { jid: jid.toString(), transport: o.transportName, replaced: opened === 'replaced' });
      return { ok: true, session };
    },

    routeFromClient(bound, stanza: StanzaView | Element) {
      const session = bound as C2sSession;
      const isView = !(stanza instanceof Element);
      const local = isView ? stanza.local : stanza.localName;
      metrics.inc('stanzas_in_total', { kind: local });
      const toAttr = stanza.attr('to');
      const to = toAttr === undefined ? session.jid.bare() : tryParseJid(toAttr);
      const packet = isView ? Packet.fromView(stanza, session.jid, to ?? session.jid.bare()) : Packet.fromElement(stanza, session.jid, to ?? session.jid.bare());
      if (to === undefined) {
        // A malformed 'to' is answered by the server (RFC 6120 §8.3.3.8 jid-malformed).
        const reply = packet.errorReply(new StanzaError('jid-malformed'));
        if (reply) {
          reply.from = makeJid('', session.jid.domain);
          core.router.deliver(session, reply);
        }
        return;
      }
      if (local === 'presence' && toAttr === undefined) {
        // Presence without 'to' is the session's own availability (RFC 6121 §4.2); the
        // broadcast to subscribers is the roster module's job, on user_available.
        handleOwnPresence(core, session, packet);
        core.hooks.run('user_send_packet', session.jid.domain, { session, packet });
        return;
      }
      const routing = performance.now();
      core.router.routeFromSession(session, packet);
      metrics.observe('routing_latency_seconds', (performance.now() - routing) / 1000);
    },

    streamElement(bound, element) {
      // Modules claim stream-level elements (XEP-0352 <active/>/<inactive/>) on this hook.
      return !core.hooks.run('c2s_stream_element', bound.jid.domain, { session: bound as C2sSession, element });
    },

    streamFeatures(host, authenticated) {
      const key = authenticated ? `+${host}` : `-${host}`;
      const cached = moduleFeatures.get(key);
      if (cached !== undefined && cached.hooks === core.hooks.generation && cached.features === core.features.generation) return cached.xml;
      const features: Element[] = [];
      core.hooks.run('c2s_stream_features', host, { host, authenticated, features });
      const xml = features.map((f) => f.toString()).join('');
      // Only served hosts reach here (the header check), so the map stays as small as the host list.
      moduleFeatures.set(key, { hooks: core.hooks.generation, features: core.features.generation, xml });
      return xml;
    },

    unauthenticatedIq(host, remoteAddress, iq) {
      // Only in-band registration is meaningful before authentication (XEP-0077 §3.1).
      const query = iq.getChild('query', NS_REGISTER);
      if (query === undefined || iq.elements.length !== 1) return undefined;
      const args: { host: string; remoteAddress: string; stanza: Element; reply?: Element } = { host, remoteAddress, stanza: iq };
      return core.hooks.runAsync('c2s_unauthenticated_iq', host, args).then(() => {
        if (args.reply !== undefined) return args.reply;
        const id = iq.attr('id');
        return new Element('iq', { type: 'error', id }, [new StanzaError('service-unavailable').toElement()]);
      });
    },

    afterPendingWrites(fn) {
      core.writes.afterSettled(fn);
    },

    unbind(bound, reason) {
      core.sessions.remove(bound as C2sSession, reason);
      metrics.inc('sessions_closed_total', { transport: o.transportName });
    },

    streamManagement: (host) => streamManagementFor(core.hooks, host),

    count(what, labels) {
      metrics.inc(`${what}_total`, labels);
    },
  };
}

/** Counts a failed SASL exchange by mechanism (the mechanism was offered, so the label set is bounded). */
function countFailures<E extends { step(input: Uint8Array | null): Promise<{ kind: string }> }>(exchange: E, mechanism: string, metrics: Metrics): E {
  const counted = Object.create(exchange) as E;
  counted.step = async (input: Uint8Array | null) => {
    const step = await exchange.step(input);
    if (step.kind === 'failure') metrics.inc('auth_failures_by_mechanism_total', { mechanism });
    return step;
  };
  return counted;
}

/** Presence without 'to' changes the session's own availability (RFC 6121 §4.2, §4.5). */
function handleOwnPresence(core: Core, session: C2sSession, packet: Packet): void {
  const type = packet.type;
  if (type === undefined) {
    const el = packet.element();
    const raw = el.getChildText('priority');
    let priority = raw === undefined ? 0 : Number.parseInt(raw, 10);
    if (!Number.isFinite(priority)) priority = 0;
    priority = Math.max(-128, Math.min(127, priority));
    core.sessions.setAvailable(session, priority, packet);
  } else if (type === 'unavailable') {
    core.sessions.setUnavailable(session, packet.element().getChildText('status') ?? '');
  }
}

function normalizeUsername(username: string): string | undefined {
  try {
    const jid = makeJid(username, 'localhost');
    return jid.local;
  } catch {
    return undefined;
  }
}
