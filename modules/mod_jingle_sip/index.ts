// mod_jingle_sip: a Jingle ⇄ SIP gateway, so XMPP users call SIP phones and PBXes and are
// called by them. Users address calls to <phone>@<gateway_domain> (default sip.<host>), a
// domain this module routes; SIP calls for sip:<user or phone>@<local_host> ring the user's
// available resources. See docs/jingle-sip.md and ./gateway.ts for the translation rules.

import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { defineModule } from '../../server/core/registry.ts';
import { s, type Infer } from '../../server/config/schema.ts';
import { Packet } from '../../server/core/packet.ts';
import { getRuntime } from '../../server/runtime/index.ts';
import { Gateway } from './gateway.ts';
import { SipStack } from './sip/transactions.ts';
import { openTransport } from './sip/transport.ts';
import { realTimers } from './sip/timers.ts';
import { isHost, isUriUser } from './sip/grammar.ts';
import { NS_JINGLE } from './sdp/jingle-ns.ts';

const host = (what: string) => s.string({ pattern: /^[A-Za-z0-9.:-]{1,253}$/, what });
const port = s.int({ min: 1, max: 65_535 });

const schema = s.object({
  /** The XMPP domain of SIP parties; empty means sip.<host>. */
  gateway_domain: s.string({ nonEmpty: false }).default(''),
  /** Where calls to SIP go: the SIP proxy or PBX. */
  proxy_host: host('a host name or IP address').default('localhost'),
  proxy_port: port.default(5600),
  /** The address the SIP listener binds. */
  listen_ip: host('an IP address').default('127.0.0.1'),
  listen_port: s.int({ min: 0, max: 65_535 }).default(5600),
  /** The host the gateway writes in Via, Contact and From: how SIP peers reach it. */
  local_host: host('a host name or IP address').default('localhost'),
  /** The address written in the SDP o= line. */
  sdp_origin: host('an IP address').default('127.0.0.1'),
  transport: s.enumOf(['udp', 'tcp'] as const).default('udp'),
  /** XMPP username → the phone number (SIP user) it calls from and is called at. */
  username_to_phone: s.record(s.string({ pattern: /^\+?[A-Za-z0-9\-_.!~*'()&=$,]{1,64}$/, what: 'a SIP user such as +48123456789' })).default({}),
  /** An unanswered call is given up after this long. */
  call_timeout: s.duration({ min: 1 }).default('60s'),
  max_calls: s.int({ min: 1 }).default(1000),
});

type Options = Infer<typeof schema>;

export const modJingleSip = defineModule<Options>({
  name: 'mod_jingle_sip',
  xeps: ['XEP-0166', 'XEP-0167', 'XEP-0176', 'XEP-0320'],
  defaults: schema.parse({}, ['modules', 'mod_jingle_sip']),
  schema,
  async start(hostName, opts, ctx) {
    const gatewayDomain = opts.gateway_domain === '' ? `sip.${hostName}` : opts.gateway_domain;
    if (!isHost(opts.local_host) || !isHost(opts.proxy_host)) throw new Error('local_host and proxy_host must be host names or IP addresses');
    if (!isHost(gatewayDomain)) throw new Error(`gateway_domain ${gatewayDomain} is not a domain name`);
    for (const phone of Object.values(opts.username_to_phone)) if (!isUriUser(phone)) throw new Error(`${phone} is not a SIP user`);
    const proxyAddress = isIP(opts.proxy_host) ? opts.proxy_host : (await lookup(opts.proxy_host)).address;
    const runtime = await getRuntime();
    const logger = ctx.logger;
    let stack: SipStack | undefined;
    const transport = await openTransport(
      runtime,
      { protocol: opts.transport, hostname: opts.listen_ip, port: opts.listen_port, onError: (what, detail) => logger.warn(what, detail) },
      (bytes, peer, reply) => stack?.receive(bytes, peer, reply),
    );
    const gateway = new Gateway({
      host: hostName,
      gatewayDomain,
      proxy: { address: proxyAddress, port: opts.proxy_port },
      proxyHost: opts.proxy_host,
      local: { host: opts.local_host, port: transport.port, transport: transport.protocol },
      sdpOrigin: opts.sdp_origin,
      usernameToPhone: opts.username_to_phone,
      callTimeoutMs: opts.call_timeout,
      maxCalls: opts.max_calls,
      timers: realTimers,
      logger,
    }, {
      send: (stanza) => ctx.route(Packet.fromElement(stanza)),
      // On any worker of the node: a call rings every available resource.
      availableResources: (bare) => ctx.router.accountResources(bare).filter((session) => session.available).map((session) => session.jid),
    });
    stack = new SipStack({
      send: (data, peer) => transport.send(data, peer),
      reliable: transport.reliable,
      onRequest: (req, tx, peer) => gateway.handleSipRequest(req, tx, peer),
      onDiscard: (why, peer) => logger.debug('sip_message_discarded', { why, peer: `${peer.address}:${peer.port}` }),
    });
    gateway.attach(stack);
    ctx.addDomainRoute(gatewayDomain, { route: (packet) => gateway.handleStanza(packet.detach()) });
    ctx.addFeature(NS_JINGLE);
    ctx.addHook('session_closed', ({ session }) => gateway.sessionClosed(session.jid));
    ctx.onStop(() => {
      gateway.close();
      stack?.close();
      transport.close();
    });
    logger.info('jingle_sip_started', { gateway_domain: gatewayDomain, transport: transport.protocol, port: transport.port });
  },
});

export type { Options as JingleSipOptions };
