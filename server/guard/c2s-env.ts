// A per-connection view of a listener's C2sEnv that reports to the guard what only the
// stream knows: SASL failures (for the per-IP ban window), a successful login (the
// pre-authentication progress rules end) and the bind (the listener's `access` rule is
// applied to the authenticated user there). The stream itself is unchanged: it sees an
// env whose other members are the listener's own.

import type { C2sEnv } from '../streams/c2s-env.ts';

export interface GuardedEnvHooks {
  authFailed(condition: string): void;
  authenticated(): void;
  /** Whether user@host may have a session through this listener (its `access` rule). */
  mayLogIn(user: string, host: string): boolean;
}

// Failures that say nothing about guessing a password: the server's own trouble, or a
// client that tried SASL before STARTTLS (told to encrypt first, not counted by the stream either).
const NOT_COUNTED = new Set(['temporary-auth-failure', 'encryption-required']);

export function guardedEnv(env: C2sEnv, hooks: GuardedEnvHooks): C2sEnv {
  const view: C2sEnv = Object.create(env) as C2sEnv;
  Object.defineProperties(view, {
    count: {
      value(what: string, labels?: Record<string, string>): void {
        if (what === 'auth_failures' && !NOT_COUNTED.has(labels?.condition ?? '')) hooks.authFailed(labels?.condition ?? '');
        else if (what === 'logins') hooks.authenticated();
        env.count(what, labels);
      },
    },
    bind: {
      value(...args: Parameters<C2sEnv['bind']>): ReturnType<C2sEnv['bind']> {
        const [, user, host] = args;
        if (!hooks.mayLogIn(user, host)) return { ok: false, condition: 'not-allowed', text: 'this account may not log in here' };
        return env.bind(...args);
      },
    },
  });
  return view;
}
