// The admin listener's Hono app:
//
//   GET  /health/live            200 while the process runs
//   GET  /health/ready           200 when ready; 503 while starting or draining
//   GET  /metrics                Prometheus text format (credentials only with metrics_auth)
//   GET  /dashboard              the live dashboard page                        (credentials)
//   GET  /api/admin/commands     the enabled commands as data                   (credentials)
//   GET  /api/admin/openapi.json the OpenAPI description                         (credentials)
//   GET  /api/admin/metrics      every counter and gauge as JSON                (credentials)
//   POST /api/admin/<group>/<action>  run a command, JSON object in, JSON out   (credentials)
//   GET  /api/admin/<group>/<action>  the same for read-only commands, arguments in the query
//
// The path is decoded and normalised first (path.ts) and everything after sees only that
// form; credentials are checked before any /api/admin route is matched, so an unknown route
// without credentials is 401, not 404.

import { Hono, type Context } from 'hono';
import { ApiError, notFound } from './api-error.ts';
import type { CredentialCheck } from './auth.ts';
import { commandPath, type AdminCommand } from './command.ts';
import { DASHBOARD_HTML } from './dashboard.ts';
import type { AdminNode } from './node.ts';
import { openApiDocument } from './openapi.ts';
import { normalisePath } from './path.ts';
import { runCommand } from './run.ts';
import { readLimited } from '../http/read-limited.ts';

export interface AdminAppOptions {
  readonly metrics: boolean;
  readonly metricsAuth: boolean;
  readonly dashboard: boolean;
  readonly maxBodyBytes: number;
}

export interface AdminAppDeps {
  readonly node: AdminNode;
  /** The commands service_admin_extra enables now (empty without it). */
  commands(): readonly AdminCommand[];
  readonly credentials: CredentialCheck;
  readonly options: AdminAppOptions;
  readonly version: string;
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

export function createAdminApp(deps: AdminAppDeps): Hono {
  const routes = adminRoutes(deps);
  const app = new Hono();
  app.all('*', async (c) => {
    const url = new URL(c.req.url);
    const normalised = normalisePath(url.pathname);
    if (!normalised.ok) return new ApiError(400, 'invalid_path', normalised.reason).toResponse();
    const forwarded = new Request(new URL(normalised.path + url.search, url.origin), c.req.raw);
    return routes.fetch(forwarded);
  });
  return app;
}

function adminRoutes(deps: AdminAppDeps): Hono {
  const { node, credentials, options } = deps;
  const app = new Hono();
  const unauthorized = () => new ApiError(401, 'unauthorized', 'missing or wrong credentials', undefined,
    credentials.offersBasic ? { 'WWW-Authenticate': 'Basic realm="Meerkat admin", charset="UTF-8"' } : { 'WWW-Authenticate': 'Bearer realm="Meerkat admin"' });
  const authorized = (c: Context) => credentials.accepts(c.req.header('authorization'));

  app.get('/health/live', () => json({ status: 'live' }));
  app.get('/health/ready', () => {
    const state = node.state();
    return json({ status: state }, state === 'ready' ? 200 : 503);
  });

  if (options.metrics) {
    app.get('/metrics', (c) => {
      if (options.metricsAuth && !authorized(c)) return unauthorized().toResponse();
      return new Response(node.metrics?.render() ?? '', {
        headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Cache-Control': 'no-store' },
      });
    });
  }

  if (options.dashboard) {
    app.get('/', (c) => c.redirect('/dashboard', 302));
    app.get('/dashboard', (c) => {
      if (!authorized(c)) return unauthorized().toResponse();
      return new Response(DASHBOARD_HTML, {
        headers: {
          'Content-Type': 'text/html; charset=utf-8',
          'Cache-Control': 'no-store',
          // The page is self-contained: its own script and style, fetches to this origin only.
          'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
          'X-Frame-Options': 'DENY',
        },
      });
    });
  }

  app.use('/api/admin/*', async (c, next) => {
    if (!authorized(c)) return unauthorized().toResponse();
    await next();
  });
  app.use('/api/admin', async (c, next) => {
    if (!authorized(c)) return unauthorized().toResponse();
    await next();
  });

  app.get('/api/admin/commands', () => json(deps.commands().map(describeCommand)));
  app.get('/api/admin/openapi.json', () => json(openApiDocument(deps.commands(), deps.version)));
  app.get('/api/admin/metrics', () => json({ state: node.state(), startedAt: node.metrics?.startedAt, series: node.metrics?.snapshot() ?? [] }));

  app.on(['GET', 'POST'], '/api/admin/:group/:action', async (c) => {
    const command = deps.commands().find((k) => k.name[0] === c.req.param('group') && k.name[1] === c.req.param('action'));
    if (!command) return notFound().toResponse();
    let input: Record<string, unknown>;
    if (c.req.method === 'GET') {
      if (!command.readOnly) {
        return new ApiError(405, 'method_not_allowed', `${commandPath(command)} changes state: use POST`, undefined, { Allow: 'POST' }).toResponse();
      }
      input = queryArgs(command, new URL(c.req.url).searchParams);
    } else {
      const body = await jsonBody(c.req.raw, options.maxBodyBytes);
      if (body instanceof ApiError) return body.toResponse();
      input = body;
    }
    const outcome = await runCommand(node, command, input, 'rest');
    if (!outcome.ok) {
      return ApiError.fromFailure(outcome.kind, outcome.message, 'problems' in outcome ? outcome.problems : undefined).toResponse();
    }
    // lines: the same result as text, for meerkatctl and shell scripts.
    return json({ ok: true, message: outcome.message, data: outcome.data, lines: outcome.lines });
  });

  app.notFound(() => notFound().toResponse());
  app.onError((err) => {
    node.logger.error('admin_api_error', { error: err });
    return new ApiError(500, 'internal', 'internal error').toResponse();
  });
  return app;
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: JSON_HEADERS });
}

export function describeCommand(c: AdminCommand): Record<string, unknown> {
  return {
    name: c.name.join(' '),
    path: `/api/admin/${c.name[0]}/${c.name[1]}`,
    group: c.group,
    summary: c.summary,
    access: c.access,
    readOnly: c.readOnly ?? false,
    returns: c.returns,
    xep0133: c.xep0133,
    args: c.args.map((a) => ({ name: a.name, type: a.type, description: a.description, example: a.example, optional: a.optional ?? false, values: a.values })),
  };
}

function queryArgs(command: AdminCommand, params: URLSearchParams): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const name of new Set(params.keys())) {
    const spec = command.args.find((a) => a.name === name);
    input[name] = spec?.type === 'strings' ? params.getAll(name) : params.get(name);
  }
  return input;
}

async function jsonBody(request: Request, limit: number): Promise<Record<string, unknown> | ApiError> {
  const bytes = await readLimited(request, limit);
  if (bytes === 'too-large') return new ApiError(413, 'too_large', `the body is larger than ${limit} bytes`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).trim();
  if (text === '') return {};
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) return new ApiError(415, 'unsupported_media_type', 'send the arguments as application/json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return new ApiError(400, 'invalid_json', `the body is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return new ApiError(400, 'invalid_json', 'the body must be a JSON object of arguments');
  }
  return value as Record<string, unknown>;
}
