// meerkatctl's side of the REST admin API: where the running node listens and which
// credentials to present, both taken from the same configuration the server reads.

import type { MeerkatConfig } from '../config/meerkat-schema.ts';
import { readLocalToken } from '../admin/local-token.ts';

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
}

/** The node could not be reached at all (not running, or nothing configured). */
export class Unreachable extends Error {}

export class AdminApiClient {
  private constructor(readonly base: string, private readonly authorization: string | undefined) {}

  /** Undefined when the configuration has no [listen.admin]. */
  static async fromConfig(config: MeerkatConfig): Promise<AdminApiClient | undefined> {
    const admin = config.listen.admin;
    if (!admin) return undefined;
    const host = admin.ip_address === '0.0.0.0' ? '127.0.0.1' : admin.ip_address === '::' ? '::1' : admin.ip_address;
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${admin.port}`;
    let authorization: string | undefined;
    const local = admin.local_token ? await readLocalToken(config.general.data_dir) : undefined;
    if (admin.tokens[0] !== undefined) authorization = `Bearer ${admin.tokens[0]}`;
    else if (local !== undefined) authorization = `Bearer ${local}`;
    else if (admin.username !== undefined && admin.password !== undefined) {
      authorization = 'Basic ' + Buffer.from(`${admin.username}:${admin.password}`).toString('base64');
    }
    return new AdminApiClient(base, authorization);
  }

  async request(method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<ApiReply> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.authorization) headers.Authorization = this.authorization;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Unreachable(`the admin API at ${this.base} does not answer (${err instanceof Error ? err.message : String(err)})`);
    }
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // /metrics and errors from something else answer with text
    }
    return { status: response.status, body: parsed };
  }
}
