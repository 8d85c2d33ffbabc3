// The OpenAPI 3.1 description of the REST admin API, generated from the enabled commands,
// so it can never disagree with what the API accepts.

import type { AdminCommand, ArgSpec } from './command.ts';

type JsonSchema = Record<string, unknown>;

function argSchema(arg: ArgSpec): JsonSchema {
  const base: JsonSchema = { description: arg.description, examples: [arg.example] };
  switch (arg.type) {
    case 'int': return { ...base, type: 'integer' };
    case 'strings': return { ...base, type: 'array', items: { type: 'string' } };
    case 'enum': return { ...base, type: 'string', enum: arg.values ?? [] };
    case 'secret': return { ...base, type: 'string', format: 'password', minLength: 1 };
    case 'account': return { ...base, type: 'string', format: 'jid', pattern: '^[^@/]+@[^@/]+$' };
    case 'jid': return { ...base, type: 'string', format: 'jid' };
    case 'host': return { ...base, type: 'string', format: 'hostname' };
    case 'xml': return { ...base, type: 'string', contentMediaType: 'application/xml' };
    case 'string': return { ...base, type: 'string' };
  }
}

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

export function openApiDocument(commands: readonly AdminCommand[], version: string): JsonSchema {
  const paths: Record<string, JsonSchema> = {};
  for (const c of commands) {
    const body: JsonSchema = {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(c.args.map((a) => [a.name, argSchema(a)])),
      required: c.args.filter((a) => !a.optional).map((a) => a.name),
    };
    const responses = {
      200: {
        description: `done; data: ${c.returns}`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Result' } } },
      },
      400: errorResponse('invalid arguments or JSON'),
      401: errorResponse('missing or wrong credentials'),
      404: errorResponse('no such entity'),
      409: errorResponse('conflict (already exists)'),
      503: errorResponse('the node cannot do it now'),
    };
    const operation = (method: string) => ({
      operationId: `${method}_${c.name.join('_').replace(/-/g, '_')}`,
      summary: c.summary,
      tags: [c.group],
      'x-meerkat-access': c.access,
      ...(c.xep0133 ? { 'x-xep0133-node': c.xep0133 } : {}),
      ...(method === 'get'
        ? { parameters: c.args.map((a) => ({ name: a.name, in: 'query', required: !a.optional, schema: argSchema(a) })) }
        : { requestBody: { required: body.required instanceof Array && body.required.length > 0, content: { 'application/json': { schema: body } } } }),
      responses,
    });
    const item: JsonSchema = { post: operation('post') };
    if (c.readOnly) item.get = operation('get');
    paths[`/api/admin/${c.name[0]}/${c.name[1]}`] = item;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Meerkat admin API', version, description: 'Generated from the admin command registry (service_admin_extra).' },
    security: [{ basic: [] }, { bearer: [] }],
    paths,
    components: {
      securitySchemes: { basic: { type: 'http', scheme: 'basic' }, bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Result: {
          type: 'object',
          properties: { ok: { const: true }, message: { type: 'string' }, data: {}, lines: { type: 'array', items: { type: 'string' } } },
          required: ['ok'],
        },
        Error: {
          type: 'object',
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                problems: { type: 'array', items: { type: 'object', properties: { arg: { type: 'string' }, message: { type: 'string' } } } },
              },
              required: ['code', 'message'],
            },
          },
          required: ['error'],
        },
      },
    },
  };
}
