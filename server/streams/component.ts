// The external component stream (XEP-0114, jabber:component:accept): header, handshake,
// then stanzas routed both ways. Transport-independent like C2sStream: a StreamTransport
// carries it (TCP today; anything that feeds it tokenizer events and writes framing).
//
// After the handshake the component owns its domains (router domain routes, through the
// ComponentRegistry). What it sends is checked the way MongooseIM's component listener
// does: a 'to' is required (improper-addressing), a 'from' is required and, with
// check_from, must be in one of the component's domains (invalid-from). Accepted stanzas
// are routed as their original bytes (Packet.fromView); stanzas for the component are
// written zero-copy too, moved into the jabber:component:accept namespace.

import type { StanzaView, StreamHeader, XmlError, XmlStreamHandlers } from '../../parser-wasm/host/types.ts';
import { Packet } from '../core/packet.ts';
import type { StreamErrorCondition } from '../errors.ts';
import { tryParseJid, type Jid } from '../jid.ts';
import { NS_COMPONENT_ACCEPT } from '../ns.ts';
import type { ComponentConnection } from '../component/registry.ts';
import type { ComponentEnv } from './component-env.ts';
import { checkComponentHeader } from './component-header.ts';
import { componentStreamId, handshakeMatches } from './component-handshake.ts';
import type { StreamTransport } from './transport.ts';

type Phase =
  | 'header'    // waiting for the stream header
  | 'handshake' // header answered, waiting for <handshake/>
  | 'ready'     // authenticated: stanzas flow both ways
  | 'closed';

export class ComponentStream implements XmlStreamHandlers, ComponentConnection {
  private phase: Phase = 'header';
  private headerSent = false;
  private readonly streamId = componentStreamId();
  private name: string | undefined;
  private domains: readonly string[] = [];
  private lang = 'en';
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly transport: StreamTransport,
    private readonly env: ComponentEnv,
  ) {
    transport.setParserLimits(env.limits.preauth);
    this.handshakeTimer = setTimeout(() => this.fail('connection-timeout', 'the handshake did not complete in time'), env.limits.handshakeTimeoutMs);
    this.handshakeTimer.unref?.();
    env.count('component_connections', { transport: transport.kind });
  }

  /** The domains this component owns once authenticated (empty before). */
  get ownedDomains(): readonly string[] {
    return this.phase === 'ready' ? this.domains : [];
  }

  // ── tokenizer events ────────────────────────────────────────────────────────────

  onStreamOpen(header: StreamHeader): void {
    if (this.phase === 'closed') return;
    if (this.phase !== 'header') {
      this.fail('policy-violation', 'a second stream header was sent');
      return;
    }
    const check = checkComponentHeader(header, {
      isServedHost: (d) => this.env.isServedHost(d),
      hosts: this.env.hosts,
      subdomainByDefault: this.env.subdomainByDefault,
    });
    if (!check.ok) {
      this.fail(check.condition, check.text);
      return;
    }
    this.name = check.name;
    this.domains = check.domains;
    this.lang = check.lang;
    this.transport.openStream({ id: this.streamId, from: this.name, lang: this.lang, omitVersion: true });
    this.headerSent = true;
    this.phase = 'handshake';
  }

  onStanza(view: StanzaView): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'header') {
      this.fail('not-well-formed', 'expected a stream header');
      return;
    }
    const isHandshake = view.local === 'handshake' && view.ns === NS_COMPONENT_ACCEPT;
    if (this.phase === 'handshake') {
      if (isHandshake) this.handleHandshake(view);
      else this.fail('not-authorized', 'complete the handshake first');
      return;
    }
    if (isHandshake) {
      this.fail('not-authorized', 'the handshake was already completed');
      return;
    }
    const local = view.local;
    if (view.ns !== NS_COMPONENT_ACCEPT || (local !== 'message' && local !== 'presence' && local !== 'iq')) {
      this.fail('unsupported-stanza-type', `<${local}/> in ${view.ns || 'no namespace'} is not supported here`);
      return;
    }
    this.routeFromComponent(view);
  }

  onStreamClose(): void {
    if (this.phase === 'closed') return;
    this.shutdown();
    this.transport.close();
  }

  onError(error: XmlError): void {
    this.env.count('xml_errors', { condition: error.condition });
    this.fail(error.condition, error.message);
  }

  /** The transport lost the connection. */
  onTransportClosed(): void {
    this.shutdown();
  }

  // ── ComponentConnection (router and registry) ───────────────────────────────────

  /** A packet for one of the component's domains: written as its bytes, in the component namespace. */
  route(packet: Packet): void {
    if (this.phase !== 'ready') {
      // Only reachable in the moment between the stream ending and its routes going away.
      this.env.router.bounce(packet, 'service-unavailable');
      return;
    }
    this.transport.send(packet.bytesFor({ from: packet.from, to: packet.to }, NS_COMPONENT_ACCEPT));
    if (this.transport.queuedBytes > this.env.limits.maxOutboundBytes) {
      this.env.log.warn('component_outbound_queue_full', { name: this.name, queued: this.transport.queuedBytes });
      this.fail('policy-violation', 'the component does not read its stream fast enough');
    }
  }

  kick(condition: StreamErrorCondition, text: string): void {
    this.fail(condition, text);
  }

  // ── handshake ───────────────────────────────────────────────────────────────────

  private handleHandshake(view: StanzaView): void {
    if (view.children().length > 0) {
      this.fail('not-authorized', 'the handshake carries only the digest');
      return;
    }
    if (!handshakeMatches(view.toElement().text, this.streamId, this.env.secret)) {
      this.env.count('component_auth_failures');
      this.env.handshakeFailed?.();
      this.env.log.info('component_auth_failed', { name: this.name, remote: this.transport.remoteAddress });
      this.fail('not-authorized', 'the handshake does not match the shared secret');
      return;
    }
    // Checked only once the secret is proven, so the listener's rule reveals nothing to
    // someone without it; not a guess at the secret, so not counted toward a ban.
    const refused = this.env.mayConnect && this.domains.find((d) => !this.env.mayConnect!(d));
    if (refused) {
      this.env.count('component_access_denied');
      this.env.log.info('component_access_denied', { name: this.name, domain: refused, remote: this.transport.remoteAddress });
      this.fail('not-authorized', `${refused} may not connect through this listener`);
      return;
    }
    const result = this.env.registry.connect(this, {
      name: this.name!,
      domains: this.domains,
      hidden: this.env.hidden,
      conflictBehaviour: this.env.conflictBehaviour,
      transport: this.transport.kind,
      remoteAddress: this.transport.remoteAddress,
      listenerPort: this.env.listenerPort,
    });
    if (!result.ok) {
      this.fail(result.condition, result.text);
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.env.authenticated?.();
    this.phase = 'ready';
    this.transport.setParserLimits(this.env.limits.authenticated);
    this.transport.send('<handshake/>');
  }

  // ── component → server ──────────────────────────────────────────────────────────

  private routeFromComponent(view: StanzaView): void {
    const toAttr = view.attr('to');
    if (toAttr === undefined) {
      this.fail('improper-addressing', 'a stanza from a component must have a to address');
      return;
    }
    const fromAttr = view.attr('from');
    const from = fromAttr === undefined ? undefined : tryParseJid(fromAttr);
    if (from === undefined) {
      this.fail('invalid-from', fromAttr === undefined ? 'a stanza from a component must have a from address' : 'the from address is not a valid JID');
      return;
    }
    if (this.env.checkFrom && !this.domains.includes(from.domain)) {
      this.fail('invalid-from', `the from address is not in ${this.domains.join(', ')}`);
      return;
    }
    const to = tryParseJid(toAttr);
    this.env.count('component_stanzas_in', { kind: view.local });
    if (to === undefined) {
      // RFC 6120 §8.3.3.8: answered from the component's own domain, never for an error.
      this.env.router.bounce(Packet.fromView(view, from, this.ownJid()), 'jid-malformed');
      return;
    }
    this.env.router.route(Packet.fromView(view, from, to));
  }

  private ownJid(): Jid {
    return tryParseJid(this.domains[0])!;
  }

  // ── closing ─────────────────────────────────────────────────────────────────────

  private fail(condition: StreamErrorCondition, text?: string): void {
    if (this.phase === 'closed') return;
    if (!this.headerSent) {
      // RFC 6120 §4.9.1.1: an error before our header still follows one.
      this.transport.openStream({ id: this.streamId, from: undefined, lang: 'en', omitVersion: true });
      this.headerSent = true;
    }
    this.env.count('component_stream_errors', { condition });
    this.env.log.info('component_stream_error', { condition, text, name: this.name, remote: this.transport.remoteAddress });
    this.shutdown();
    this.transport.close({ condition, text });
  }

  private shutdown(): void {
    if (this.phase === 'closed') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (wasReady) this.env.registry.disconnect(this);
  }
}
