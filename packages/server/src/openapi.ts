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
  SendBatchResult,
  SendRequest,
  SendResult,
  SentPage,
  Thread,
  ValidationErrorBody,
} from '@mailroom/core/post-office';
import { z } from 'zod';

const schemas = {
  Message,
  Thread,
  Account,
  SendRequest,
  SendResult,
  InboxPage,
  SentPage,
  RateLimitBody,
  ValidationErrorBody,
  RegisterRequest,
  Registration,
  LeasedPage,
  RenewRequest,
  RenewResult,
  SendBatchRequest: z.object({ sends: z.array(SendRequest).min(1).max(100) }),
  SendBatchResult,
};

const json = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Record<
    string,
    unknown
  >;
  return rest;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const body = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const ok = (name: string | undefined, description = 'OK') => ({
  description,
  ...(name ? body(name) : { content: { 'application/json': { schema: { type: 'object' } } } }),
});
const detail = (description: string) => ({ description, ...body('ErrorDetail') });

/** Every error status the server answers, with what it means; each operation lists those it can answer. */
const ERRORS = {
  '400': detail('the body is not JSON (or JSON with another Content-Type)'),
  '401': detail('no API key, or an unknown one (registration: no valid X-Admin-Key); checked before the body is read'),
  '404': detail('not found, or not the caller’s to see'),
  '409': detail('the agent id is taken'),
  '413': {
    description:
      'the request body is over the server’s limit (`detail`: a string), or `body_text`/`body_html` over 256 KiB (`detail`: the issues)',
    content: { 'application/json': { schema: ref('SizeErrorBody') } },
  },
  '414': detail('a path id longer than 128 characters (after authentication)'),
  '422': { description: 'validation failed', ...body('ValidationErrorBody') },
  '429': {
    description: 'over the hourly or daily send quota; `Retry-After` says when to try again',
    ...body('RateLimitBody'),
  },
  '503': detail(
    'the store cannot write now (locked by another process past the busy timeout, disk full, I/O error), or the server is closing; `Retry-After: 1`',
  ),
} as const;
type ErrorStatus = keyof typeof ERRORS;
const errors = (...statuses: ErrorStatus[]) => Object.fromEntries(statuses.map((s) => [s, ERRORS[s]]));

const PathId = { type: 'string', minLength: 1, maxLength: 128 };
const Flag = { type: 'string', enum: ['true', 'false', '1', '0'] };
const Limit = { type: 'integer', minimum: 1, maximum: 100, default: 50 };
const Cursor = { type: 'string', minLength: 1, maxLength: 128 };
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: PathId });
const q = (name: string, schema: object, description: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  description,
});
/** An operation on a message or thread by id: what it can answer besides `extra`. */
const byId = (...extra: ErrorStatus[]) => errors('401', '404', '414', '503', ...extra);

/** The OpenAPI 3.1 document of the Agent Email API as this server speaks it, generated from the zod model. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const components: Record<string, unknown> = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [
      name,
      json(schema, name.endsWith('Request') ? 'input' : 'output'),
    ]),
  );
  components.ErrorDetail = { type: 'object', required: ['detail'], properties: { detail: { type: 'string' } } };
  components.SizeErrorBody = {
    type: 'object',
    required: ['detail'],
    properties: {
      detail: {
        oneOf: [
          { type: 'string' },
          (components.ValidationErrorBody as { properties: { detail: object } }).properties.detail,
        ],
      },
    },
  };
  components.ReadBatch = {
    type: 'object',
    required: ['message_ids'],
    properties: {
      message_ids: { type: 'array', items: PathId, minItems: 1, maxItems: 100 },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent Email API (Mailroom server)',
      version: '1.0.0',
      description: [
        'Extensions: long-poll `wait`, push (`/email/inbox/stream`), batch read, batch send, `idempotency_key`.',
        'Every JSON body: nested at most 16 levels, no NUL character (\\u0000) in any string (else 422).',
        'A method a path does not have: 405 with `Allow`. A request not received whole within the request timeout: 408, connection closed.',
        'Every response carries `X-Content-Type-Options: nosniff`.',
      ].join(' '),
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      schemas: components,
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        adminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
      },
    },
    security: [{ apiKey: [] }],
    paths: {
      '/agents/register': {
        post: {
          security: [{ adminKey: [] }, {}],
          description: 'A `profile` is at most 4 KiB of JSON.',
          requestBody: body('RegisterRequest'),
          responses: {
            '201': ok('Registration', 'registered'),
            ...errors('400', '401', '409', '413', '422', '503'),
          },
        },
      },
      '/email/send': {
        post: {
          requestBody: body('SendRequest'),
          responses: { '200': ok('SendResult'), ...errors('400', '401', '404', '413', '422', '429', '503') },
        },
      },
      '/email/inbox': {
        get: {
          parameters: [
            q('limit', Limit, 'page size'),
            q('unread_only', { ...Flag, default: 'false' }, 'unread mail only'),
            q('from_address', { type: 'string', maxLength: 320 }, 'only mail from this address'),
            q('cursor', Cursor, 'from a previous page; keep the same filters'),
            q(
              'wait',
              { type: 'number', minimum: 0, maximum: 30 },
              '[ext] long poll: hold the request until a matching message exists or this many seconds pass',
            ),
          ],
          responses: { '200': ok('InboxPage'), ...errors('401', '422', '503') },
        },
      },
      '/email/inbox/stream': {
        get: {
          description:
            '[ext] push: Server-Sent Events, one `inbox` event per page (`data`: an InboxPage, `id`: its cursor) as mail lands; resumes after the page named by `Last-Event-ID` (or `cursor`); a `: keep-alive` comment every 15 s without mail.',
          parameters: [
            q('limit', Limit, 'most messages in one event'),
            q('unread_only', { ...Flag, default: 'false' }, 'unread mail only'),
            q('from_address', { type: 'string', maxLength: 320 }, 'only mail from this address'),
            q('cursor', Cursor, 'start after this page (a `Last-Event-ID` header wins)'),
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              schema: Cursor,
              description: 'the id of the last event received',
            },
          ],
          responses: {
            '200': {
              description: 'the event stream',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            },
            ...errors('401', '422', '503'),
          },
        },
      },
      '/email/sent': {
        get: {
          parameters: [q('limit', Limit, 'page size'), q('cursor', Cursor, 'from a previous page')],
          responses: { '200': ok('SentPage'), ...errors('401', '422', '503') },
        },
      },
      '/email/message/{message_id}': {
        get: {
          parameters: [idParam('message_id')],
          description: 'Marks an inbound message read.',
          responses: { '200': ok('Message'), ...byId() },
        },
        delete: { parameters: [idParam('message_id')], responses: { '200': ok(undefined), ...byId('400') } },
      },
      '/email/message/{message_id}/read': {
        post: {
          parameters: [idParam('message_id'), q('unread', { ...Flag, default: 'false' }, 'mark unread again')],
          responses: { '200': ok(undefined), ...byId('400', '422') },
        },
      },
      '/email/message/{message_id}/star': {
        post: {
          parameters: [idParam('message_id')],
          description: 'Toggles the star (not safe to repeat).',
          responses: { '200': ok(undefined), ...byId('400') },
        },
      },
      '/email/send/batch': {
        post: {
          description:
            '[ext] batch send: up to 100 sends, each checked, counted and keyed on its own, answered one by one (`status` and `body` as `POST /email/send` would answer it alone).',
          requestBody: body('SendBatchRequest'),
          responses: { '200': ok('SendBatchResult'), ...errors('400', '401', '413', '422', '503') },
        },
      },
      '/email/read': {
        post: {
          description: '[ext] batch mark-read',
          requestBody: body('ReadBatch'),
          responses: { '200': ok(undefined), ...errors('400', '401', '404', '413', '422', '503') },
        },
      },
      '/email/thread/{thread_id}': {
        get: { parameters: [idParam('thread_id')], responses: { '200': ok('Thread'), ...byId() } },
      },
      '/email/account': { get: { responses: { '200': ok('Account'), ...errors('401', '503') } } },
      '/email/claim': {
        get: {
          description:
            '[ext] leases: claim unread mail no other consumer holds (a worker pool on one address); only on a server whose responses carry `X-Mailroom-Leases: 1`',
          parameters: [
            q('limit', { type: 'integer', minimum: 1, maximum: 100, default: 10 }, 'most messages to claim'),
            q('lease_seconds', { type: 'integer', minimum: 1, maximum: 3600, default: 30 }, 'how long they stay held'),
            q('wait', { type: 'number', minimum: 0, maximum: 30 }, 'long poll: seconds to wait for claimable mail'),
          ],
          responses: { '200': ok('LeasedPage'), ...errors('401', '422', '503') },
        },
      },
      '/email/lease': {
        post: {
          description: '[ext] leases: renew (or, with `lease_seconds: 0`, release) what a lease still holds',
          requestBody: body('RenewRequest'),
          responses: { '200': ok('RenewResult'), ...errors('400', '401', '413', '422', '503') },
        },
      },
      '/ui/thread/{thread_id}': {
        get: {
          description: 'The audit trail of a thread as an HTML page (Content-Security-Policy: no script).',
          parameters: [idParam('thread_id')],
          responses: {
            '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } },
            ...byId(),
          },
        },
      },
      '/health': {
        get: {
          security: [],
          description: 'Whether the store can write now (a probe write).',
          responses: {
            '200': ok(undefined),
            '503': {
              description: 'the store cannot write, or the server is closing',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: { security: [], responses: { '200': ok(undefined, 'this document'), ...errors('503') } },
      },
    },
  };
}
