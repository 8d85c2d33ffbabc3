// What a component stream needs from the node: the listener's settings, the component
// table, the router and the limits. Built once per [[listen.component]] listener.

import type { ParserLimits } from '../../parser-wasm/host/types.ts';
import type { ComponentConflictBehaviour } from '../config/listen.ts';
import type { Router } from '../core/router.ts';
import type { Logger } from '../log.ts';
import type { ComponentRegistry } from '../component/registry.ts';

export interface ComponentLimits {
  /** Tokenizer limits until the handshake succeeds. */
  preauth: Partial<ParserLimits>;
  /** Tokenizer limits afterwards (max_stanza_size). */
  authenticated: Partial<ParserLimits>;
  /** How long a connection may take to complete the handshake. */
  handshakeTimeoutMs: number;
  /** Bytes queued towards a slow component before it is disconnected. */
  maxOutboundBytes: number;
}

export interface ComponentEnv {
  log: Logger;
  /** The shared secret of the listener (password). */
  secret: string;
  hidden: boolean;
  checkFrom: boolean;
  subdomainByDefault: boolean;
  conflictBehaviour: ComponentConflictBehaviour;
  listenerPort: number;
  hosts: readonly string[];
  isServedHost(domain: string): boolean;
  registry: ComponentRegistry;
  router: Router;
  limits: ComponentLimits;
  count(metric: string, labels?: Record<string, string>): void;
  /**
   * The listener's `access` rule for one domain the component claims (server/guard/
   * listener-guard.ts), asked after a correct handshake; absent: every domain may connect.
   */
  mayConnect?(domain: string): boolean;
  /** A handshake with a wrong digest: the guard counts it toward the per-IP ban. */
  handshakeFailed?(): void;
  /** The handshake succeeded: the guard's pre-authentication watch ends. */
  authenticated?(): void;
}
