import {
  Account,
  InboxPage,
  LeasedPage,
  Message,
  RateLimitBody,
  RegisterRequest,
  Registration,
  RenewRequest,
  RenewResult,
  SendRequest,
  SendResult,
  SentPage,
  Thread,
  ValidationErrorBody,
} from '@mailroom/core/post-office';
import { z } from 'zod';
import { AccountList, AccountSummary } from './accounts.js';
import { type DocumentedRoute, impliedErrors } from './routes.js';

// `/openapi.json`, written from the routes as declared (routes.ts): their paths, schemas and
// statuses. Nothing here lists a route by hand.

/** Error answers in the API's shapes. */
export const ErrorDetail = z.object({ detail: z.string() });
/** What Fastify answers (503) to a request that arrives while the server closes. */
const Closing = z.object({ error: z.string(), message: z.string(), statusCode: z.literal(503) });
const SizeErrorBody = z.object({ detail: z.union([z.string(), ValidationErrorBody.shape.detail]) });

/** Schemas that get a name in `components.schemas` (and a `$ref` wherever a route uses them). */
const NAMED: [string, z.ZodType][] = [
  ['Message', Message],
  ['Thread', Thread],
  ['Account', Account],
  ['SendRequest', SendRequest],
  ['SendResult', SendResult],
  ['InboxPage', InboxPage],
  ['SentPage', SentPage],
  ['RateLimitBody', RateLimitBody],
  ['ValidationErrorBody', ValidationErrorBody],
  ['RegisterRequest', RegisterRequest],
  ['Registration', Registration],
  ['LeasedPage', LeasedPage],
  ['RenewRequest', RenewRequest],
  ['RenewResult', RenewResult],
  ['AccountSummary', AccountSummary],
  ['AccountList', AccountList],
  ['ErrorDetail', ErrorDetail],
  ['SizeErrorBody', SizeErrorBody],
  ['Closing', Closing],
];

/** What each error status means, and the shape of its body. */
const ERRORS: Record<number, { description: string; body: z.ZodType }> = {
  400: { description: 'the body is not JSON (or JSON with another Content-Type)', body: ErrorDetail },
  401: {
    description: 'no key, or an unknown (rotated, revoked) one; checked before the body is read',
    body: ErrorDetail,
  },
  403: { description: 'not allowed (the admin API of a server started without an admin key)', body: ErrorDetail },
  404: { description: 'not found, or not the caller’s to see', body: ErrorDetail },
  409: { description: 'the agent id is taken', body: ErrorDetail },
  413: {
    description:
      'the request body is over the server’s limit (`detail`: a string), or `body_text`/`body_html` over 256 KiB (`detail`: the issues)',
    body: SizeErrorBody,
  },
  414: { description: 'a path id longer than 128 characters (after authentication)', body: ErrorDetail },
  422: {
    description: 'validation failed: the schema, a NUL character in a string, or JSON nested deeper than 16 levels',
    body: ValidationErrorBody,
  },
  429: {
    description: 'over the hourly or daily send quota; `Retry-After` says when to try again',
    body: RateLimitBody,
  },
  503: {
    description:
      'the store cannot write now (locked by another process past the busy timeout, disk full, I/O error; `Retry-After: 1`), or the server is closing',
    body: z.union([ErrorDetail, Closing]),
  },
};

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema (2020-12, as OpenAPI 3.1 has it), without `$schema`. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Json;
  return rest;
}

/** The document's `{name}` path from Fastify's `:name`. */
export const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

/**
 * The OpenAPI 3.1 document of the routes given (those not hidden): every path, method, parameter,
 * body and status, from the routes' zod schemas.
 */
export function openApiDocument(routes: readonly DocumentedRoute[], serverUrl?: string): Record<string, unknown> {
  const names = new Map<z.ZodType, string>(NAMED.map(([name, schema]) => [schema, name]));
  const used = new Map<string, Json>();
  /** A `$ref` to a named schema (generated once), or the schema inline. */
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): Json => {
    const name = names.get(schema);
    if (!name) return jsonSchema(schema, io);
    if (!used.has(name)) used.set(name, jsonSchema(schema, io));
    return { $ref: `#/components/schemas/${name}` };
  };
  const content = (schema: z.ZodType, io: 'input' | 'output') => ({
    'application/json': { schema: schemaOf(schema, io) },
  });
  const parameters = (where: 'path' | 'query' | 'header', schema: z.ZodType | undefined): Json[] => {
    if (!schema) return [];
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    return Object.entries(object.properties ?? {}).map(([name, property]) => {
      const { description, ...rest } = property;
      return {
        name,
        in: where,
        required: where === 'path' || (object.required ?? []).includes(name),
        schema: rest,
        ...(typeof description === 'string' ? { description } : {}),
      };
    });
  };

  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    if (route.hide) continue;
    const responses: Record<string, Json> = {};
    const ok = route.response;
    responses[String(ok.status ?? 200)] = {
      description: ok.description ?? 'OK',
      content:
        ok.body === 'html'
          ? { 'text/html': { schema: { type: 'string' } } }
          : 'mediaType' in ok.body
            ? { [ok.body.mediaType]: { schema: { type: 'string' } } }
            : content(ok.body, 'output'),
    };
    for (const status of impliedErrors(route)) {
      const error = route.errorBodies?.[status] ?? ERRORS[status];
      if (!error) throw new Error(`openapi: no description of status ${status} (${route.method} ${route.url})`);
      responses[String(status)] = { description: error.description, content: content(error.body, 'output') };
    }
    const security =
      route.auth === 'apiKey'
        ? undefined
        : route.auth === 'adminKey'
          ? [{ adminKey: [] }]
          : route.auth === 'registration'
            ? [{ adminKey: [] }, {}]
            : [];
    const operation: Json = {
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(security ? { security } : {}),
    };
    const params = [
      ...parameters('path', route.params),
      ...parameters('query', route.query),
      ...parameters('header', route.headers),
    ];
    if (params.length > 0) operation.parameters = params;
    if (route.body) operation.requestBody = { required: true, content: content(route.body, 'input') };
    operation.responses = responses;
    const path = openApiPath(route.url);
    paths[path] ??= {};
    (paths[path] as Record<string, Json>)[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent Email API (Mailroom server)',
      version: '1.0.0',
      description: [
        'Extensions: push (`GET /email/inbox/stream`, Server-Sent Events), long-poll `wait`, batch send (`POST /email/send/batch`), batch read, `idempotency_key`, leases, the admin API.',
        'Every JSON body: nested at most 16 levels, no NUL character (\\u0000) in any string (else 422).',
        'A method a path does not have: 405 with `Allow`. A request not received whole within the request timeout: 408, connection closed.',
        'Every response carries `X-Content-Type-Options: nosniff`.',
      ].join(' '),
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      schemas: Object.fromEntries([...used.entries()].sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
      },
    },
    security: [{ apiKey: [] }],
    paths,
  };
}
