import {
  Account,
  InboxPage,
  Message,
  RateLimitBody,
  RegisterRequest,
  Registration,
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
};

const json = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { unrepresentable: 'any', io }) as Record<
    string,
    unknown
  >;
  return rest;
};
const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const body = (name: keyof typeof schemas) => ({ content: { 'application/json': { schema: ref(name) } } });
const ok = (name: keyof typeof schemas | undefined, description = 'OK') => ({
  description,
  ...(name ? body(name) : { content: { 'application/json': { schema: { type: 'object' } } } }),
});
const errors = {
  '401': { description: 'no API key, or an unknown one' },
  '404': { description: 'not found (or not yours)' },
  '422': { description: 'validation failed', ...body('ValidationErrorBody') },
};
const idParam = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string' } });
const q = (name: string, schema: object, description: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  description,
});

/** The OpenAPI 3.1 document of the Agent Email API as this server speaks it, generated from the zod model. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const components = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [
      name,
      json(schema, name.endsWith('Request') ? 'input' : 'output'),
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: 'Agent Email API (Mailroom server)',
      version: '1.0.0',
      description: 'Extensions: long-poll `wait`, batch read, `idempotency_key`.',
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
          requestBody: body('RegisterRequest'),
          responses: {
            '201': ok('Registration', 'registered'),
            '409': { description: 'agent id taken' },
            '422': errors['422'],
          },
        },
      },
      '/email/send': {
        post: {
          requestBody: body('SendRequest'),
          responses: {
            '200': ok('SendResult'),
            '413': { description: 'body over the limit' },
            '429': { description: 'over quota', ...body('RateLimitBody') },
            ...errors,
          },
        },
      },
      '/email/inbox': {
        get: {
          parameters: [
            q('limit', { type: 'integer', minimum: 1, maximum: 100, default: 50 }, 'page size'),
            q('unread_only', { type: 'boolean', default: false }, 'unread mail only'),
            q('from_address', { type: 'string' }, 'only mail from this address'),
            q('cursor', { type: 'string', maxLength: 128 }, 'from a previous page; keep the same filters'),
            q(
              'wait',
              { type: 'number', minimum: 0, maximum: 30 },
              '[ext] long poll: hold the request until a matching message exists or this many seconds pass',
            ),
          ],
          responses: { '200': ok('InboxPage'), ...errors },
        },
      },
      '/email/sent': {
        get: {
          parameters: [q('limit', { type: 'integer' }, 'page size'), q('cursor', { type: 'string' }, 'cursor')],
          responses: { '200': ok('SentPage'), ...errors },
        },
      },
      '/email/message/{message_id}': {
        get: {
          parameters: [idParam('message_id')],
          description: 'Marks an inbound message read.',
          responses: { '200': ok('Message'), ...errors },
        },
        delete: { parameters: [idParam('message_id')], responses: { '200': ok(undefined), ...errors } },
      },
      '/email/message/{message_id}/read': {
        post: {
          parameters: [idParam('message_id'), q('unread', { type: 'boolean', default: false }, 'mark unread again')],
          responses: { '200': ok(undefined), ...errors },
        },
      },
      '/email/message/{message_id}/star': {
        post: { parameters: [idParam('message_id')], responses: { '200': ok(undefined), ...errors } },
      },
      '/email/read': {
        post: {
          description: '[ext] batch mark-read',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['message_ids'],
                  properties: { message_ids: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 100 } },
                },
              },
            },
          },
          responses: { '200': ok(undefined), ...errors },
        },
      },
      '/email/thread/{thread_id}': {
        get: { parameters: [idParam('thread_id')], responses: { '200': ok('Thread'), ...errors } },
      },
      '/email/account': { get: { responses: { '200': ok('Account'), ...errors } } },
      '/health': { get: { security: [], responses: { '200': ok(undefined) } } },
    },
  };
}
