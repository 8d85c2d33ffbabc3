// Schemas of the [[listen.*]] arrays of tables.

import { s, type Infer } from './schema.ts';
import { ipAddress, name, port, stanzaSize, urlPath } from './common.ts';

export const C2S_TLS_MODES = ['starttls', 'starttls_required', 'tls', 'none'] as const;
export type C2sTlsMode = (typeof C2S_TLS_MODES)[number];

// Without a certfile, a listener that needs TLS uses the dev certificate under data_dir.
const tlsFiles = {
  certfile: s.path().optional(),
  keyfile: s.path().optional(),
};

export const VERIFY_MODES = ['peer', 'selfsigned_peer', 'none'] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

// Client certificates (SASL EXTERNAL, XEP-0178). "peer": ask for a certificate and accept
// one issued by a CA of cafile; "selfsigned_peer": also accept self-signed certificates
// (development only); "none": do not ask. Unset: "peer" if the older verify_peer is true.
const clientCertificates = {
  /** PEM bundle of the CAs that issue client certificates. */
  cafile: s.path().optional(),
  verify_mode: s.enumOf(VERIFY_MODES).optional(),
};

export const c2sListenerSchema = s.object({
  port: port().default(5222),
  ip_address: ipAddress().default('0.0.0.0'),
  tls: s.enumOf(C2S_TLS_MODES).default('starttls'),
  ...tlsFiles,
  ...clientCertificates,
  /** Older spelling of verify_mode = "peer". */
  verify_peer: s.bool().default(false),
  max_stanza_size: stanzaSize().default(65536),
  shaper: name().optional(),
  access: name().optional(),
  backlog: s.int({ min: 1 }).default(1024),
});

export const boshHandlerSchema = s.object({
  path: urlPath().default('/http-bind'),
  max_wait: s.duration().default('60s'),
  inactivity: s.duration().default('30s'),
  max_hold: s.int({ min: 0, max: 8 }).default(1),
  max_requests: s.int({ min: 1, max: 16 }).default(2),
  max_pause: s.duration().default('120s'),
  polling: s.duration({ min: 0 }).default('2s'),
  max_body_size: stanzaSize().default(131072),
  /** Browser origins allowed by CORS ("*" for any); empty: same-origin pages only. */
  cors_origins: s.array(s.string()).default([]),
});

export const COMPONENT_CONFLICT_BEHAVIOURS = ['disconnect', 'kick_old'] as const;
export type ComponentConflictBehaviour = (typeof COMPONENT_CONFLICT_BEHAVIOURS)[number];

/**
 * External components (XEP-0114) over the WebSocket endpoint, as MongooseIM's
 * mod_websockets `service` accepts them: a connection whose first frame opens a
 * <stream:stream xmlns='jabber:component:accept'> is a component. Same keys as a
 * [[listen.component]] listener (docs/components.md).
 */
export const websocketComponentSchema = s.object({
  password: s.string(),
  hidden_components: s.bool().default(false),
  conflict_behaviour: s.enumOf(COMPONENT_CONFLICT_BEHAVIOURS).default('disconnect'),
  is_subdomain: s.bool().default(false),
  check_from: s.bool().default(true),
  /**
   * Access rule judged on each domain a component claims (as the JID of that domain), once
   * its handshake succeeded; unset: every domain. The HTTP listener's own `access` is for
   * client sessions only.
   */
  access: name().optional(),
});

export const websocketHandlerSchema = s.object({
  path: urlPath().default('/ws-xmpp'),
  /** Browser origins allowed to connect ("*" for any); empty: same-origin pages only. */
  origins: s.array(s.string()).default([]),
  idle_timeout: s.duration().default('120s'),
  /** Absent: components are not accepted over WebSocket. */
  component: websocketComponentSchema.optional(),
});

export const httpListenerSchema = s.object({
  port: port().default(5280),
  ip_address: ipAddress().default('0.0.0.0'),
  tls: s.bool().default(false),
  ...tlsFiles,
  // Client certificates for SASL EXTERNAL over BOSH and WebSocket (needs tls = true). The
  // runtime then terminates TLS itself to see them (server/runtime/bun-tls-terminator.ts).
  ...clientCertificates,
  max_stanza_size: stanzaSize().default(65536),
  shaper: name().optional(),
  access: name().optional(),
  backlog: s.int({ min: 1 }).default(1024),
  /**
   * An HTTP connection with no byte in either direction for this long is closed: idle
   * keep-alives and stalled request bodies. A request waiting for its answer (a BOSH long
   * poll) is not idle; BOSH's own timers bound it. At most 255 s, the runtime's limit.
   */
  idle_timeout: s.duration({ max: 255_000 }).default('30s'),
  // A present table enables the handler; without [listen.http.handlers], BOSH and WebSocket.
  handlers: s.object({
    bosh: boshHandlerSchema.optional(),
    websocket: websocketHandlerSchema.optional(),
  }).default({ bosh: {}, websocket: {} }),
});

export const componentListenerSchema = s.object({
  port: port().default(8888),
  // Components are usually local processes; listening on every interface is a choice.
  ip_address: ipAddress().default('127.0.0.1'),
  password: s.string(),
  /** Components on this listener are left out of users' server disco#items (with mod_disco's users_can_see_hidden_services = false). */
  hidden_components: s.bool().default(false),
  /** A second connection for a connected component's domain: refuse it, or close the old one. */
  conflict_behaviour: s.enumOf(COMPONENT_CONFLICT_BEHAVIOURS).default('disconnect'),
  /** Register every component as a subdomain of each served host (name "muc" → muc.<host>). */
  is_subdomain: s.bool().default(false),
  /** Stanzas from a component must have a 'from' in its own domain (else invalid-from). */
  check_from: s.bool().default(true),
  max_stanza_size: stanzaSize().default(65536),
  shaper: name().optional(),
  /** Access rule judged on each domain a component claims (as the JID of that domain), after its handshake. */
  access: name().optional(),
  backlog: s.int({ min: 1 }).default(1024),
});

/**
 * [listen.admin]: the REST admin API (/api/admin), /metrics, /health and the dashboard, on
 * an HTTP listener of their own, loopback by default. Credentials: Basic (username and
 * password) and/or bearer tokens; with local_token, a random token is also written to
 * <data_dir>/admin-token (mode 0600) for meerkatctl on the same machine.
 */
export const adminListenerSchema = s.object({
  port: port().default(8088),
  ip_address: ipAddress().default('127.0.0.1'),
  username: s.string().optional(),
  password: s.string().optional(),
  // Long enough that guessing is hopeless.
  tokens: s.array(s.string({ pattern: /^[\x21-\x7e]{16,}$/, what: 'a token of at least 16 printable characters' }), { unique: true }).default([]),
  local_token: s.bool().default(true),
  /** Serve /metrics (Prometheus text). */
  metrics: s.bool().default(true),
  /** /metrics needs credentials too (it needs none by default: it says nothing about users). */
  metrics_auth: s.bool().default(false),
  dashboard: s.bool().default(true),
  /** Largest JSON request body, in bytes. */
  max_body_size: s.int({ min: 1024 }).default(65536),
});

/** The listeners used when the file has no [listen] table at all. */
export const DEFAULT_LISTEN = {
  c2s: [{ port: 5222, tls: 'starttls', ip_address: '127.0.0.1' }, { port: 5223, tls: 'tls', ip_address: '127.0.0.1' }],
  http: [{ port: 5280, ip_address: '127.0.0.1' }],
  admin: {},
};

export const listenSchema = s.object({
  c2s: s.array(c2sListenerSchema).default([]),
  http: s.array(httpListenerSchema).default([]),
  component: s.array(componentListenerSchema).default([]),
  admin: adminListenerSchema.optional(),
}).default(DEFAULT_LISTEN);

/** The effective client-certificate mode of a listener. */
export function listenerVerifyMode(listener: { readonly verify_mode?: VerifyMode; readonly verify_peer?: boolean }): VerifyMode {
  return listener.verify_mode ?? (listener.verify_peer === true ? 'peer' : 'none');
}

export type C2sListenerConfig = Infer<typeof c2sListenerSchema>;
export type HttpListenerConfig = Infer<typeof httpListenerSchema>;
export type ComponentListenerConfig = Infer<typeof componentListenerSchema>;
export type WebSocketComponentConfig = Infer<typeof websocketComponentSchema>;
export type AdminListenerConfig = Infer<typeof adminListenerSchema>;
export type ListenConfig = Infer<typeof listenSchema>;
