// HTTP side of BOSH: methods, CORS, the body size limit; the body itself goes to the endpoint.

import type { Context, Hono } from 'hono';
import type { HttpRequestInfo } from '../../runtime/types.ts';
import type { HttpBindings } from '../bindings.ts';
import { checkOrigin, corsHeaders } from '../origins.ts';
import type { BoshOptions } from '../options.ts';
import { terminateXml } from './body.ts';
import type { BoshEndpoint, BoshRequestInfo } from './endpoint.ts';
import { readLimited } from '../read-limited.ts';

const XML = 'text/xml; charset=utf-8';

const BANNER = `<!DOCTYPE html>
<html><head><title>Meerkat BOSH</title></head>
<body><p>This is an XMPP BOSH endpoint (XEP-0124, XEP-0206). XMPP clients POST &lt;body/&gt; elements here.</p></body></html>
`;

export function boshRoutes(app: Hono<HttpBindings>, paths: string[], options: BoshOptions, endpoint: BoshEndpoint, secureInfo: (info: HttpRequestInfo | undefined) => BoshRequestInfo['tls']): void {
  for (const path of paths) {
    app.get(path, (c) => c.html(BANNER));

    // CORS preflight: Strophe's Content-Type makes every cross-origin request need one.
    app.options(path, (c) => {
      const verdict = checkOrigin({ allowed: options.corsOrigins }, c.req.raw.headers);
      if (verdict.kind === 'refused') return c.body(null, 403);
      const headers: Record<string, string> = { Allow: 'GET, POST, OPTIONS' };
      if (verdict.kind === 'allowed') {
        Object.assign(headers, corsHeaders(verdict), {
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'Content-Type',
          'Access-Control-Max-Age': '86400',
        });
      }
      return c.body(null, 204, headers);
    });

    app.post(path, async (c) => {
      const verdict = checkOrigin({ allowed: options.corsOrigins }, c.req.raw.headers);
      if (verdict.kind === 'refused') return c.body(null, 403);
      const headers = { 'Content-Type': XML, 'Cache-Control': 'no-store', ...corsHeaders(verdict) };
      const bytes = await readLimited(c.req.raw, options.maxBodyBytes);
      if (bytes === 'too-large') return c.body(terminateXml('policy-violation'), 413, headers);
      const reply = await endpoint.handle(bytes, info(c, secureInfo));
      return c.body(reply.body, reply.status as 200, headers);
    });

    app.all(path, (c) => c.body(null, 405, { Allow: 'GET, POST, OPTIONS' }));
  }
}

function info(c: Context<HttpBindings>, tls: (info: HttpRequestInfo | undefined) => BoshRequestInfo['tls']): BoshRequestInfo {
  return { remoteAddress: c.env?.remoteAddress ?? '', tls: tls(c.env) };
}
