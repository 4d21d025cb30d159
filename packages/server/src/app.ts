import { timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AuthError, renderThreadHtml } from '@mailroom/core';
import { type InboxPage, InboxQuery, type PostOffice, parseOrThrow } from '@mailroom/core/post-office';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { type Logger, pino } from 'pino';
import { z } from 'zod';
import { bodyProblem, methodsOfPaths, PAGE_CSP, rejectLongIds } from './guards.js';
import { clientGone, holdFor } from './hold.js';
import { sendError } from './http-errors.js';
import { registerLeaseRoutes } from './lease-routes.js';
import { openApiDocument } from './openapi.js';
import { registerBatchSendRoute, registerPushRoutes } from './push-routes.js';
import { registerDashboard } from './ui/routes.js';

/** Options of {@link buildServer}. */
export type ServerOptions = {
  postOffice: PostOffice;
  /** When set, `POST /agents/register` needs it in `X-Admin-Key`. */
  adminKey?: string;
  /** Where requests are logged (API keys are redacted). @default a silent logger */
  logger?: Logger;
  /** Turn extensions off, to stand in for a server without them (the platform). @default all on */
  extensions?: { longPoll?: boolean; batchRead?: boolean; push?: boolean; batchSend?: boolean };
  /** The inbox stream (push) sends a keep-alive comment, and re-reads the inbox, after this long without mail. @default 15000 */
  streamHeartbeatMs?: number;
  /** An inbox stream whose client takes no data for this long (while a page waits) is closed. @default 60000 */
  streamStalledMs?: number;
  /** Log every request and response (pino, keys redacted). @default true */
  logRequests?: boolean;
  /** Largest request body in bytes (larger: 413). `body_text` is capped at 256 KiB on its own. @default 1 MiB */
  bodyLimit?: number;
  /** Longest time to receive a whole request (headers and body); slower ones get 408 and are closed. @default 30000 */
  requestTimeoutMs?: number;
  /** Most connections open at once; past it new ones are closed at once. @default 1000 */
  maxConnections?: number;
  /** The server's public URL, for `servers` of `/openapi.json` (never taken from a request). @default none */
  publicUrl?: string;
};

const Options = z.object({
  adminKey: z.string().min(1).optional(),
  logRequests: z.boolean().optional(),
  bodyLimit: z.number().int().min(1024).optional(),
  requestTimeoutMs: z.number().int().min(10).max(3_600_000).default(30_000),
  maxConnections: z.number().int().min(1).default(1000),
  publicUrl: z.url().optional(),
  streamHeartbeatMs: z.number().int().min(10).max(3_600_000).default(15_000),
  streamStalledMs: z.number().int().min(10).max(3_600_000).default(60_000),
});

/** What a post office may offer `/health`: whether its store can write now. */
type StoreHealth = { health(): { ok: true } | { ok: false; reason: string } };

/** Header of every inbox response: this server holds requests that carry `wait` (long poll). */
export const LONG_POLL_HEADER = 'x-mailroom-long-poll';

/** Log paths that never reach the log in the clear. */
export const REDACT = [
  'req.headers["x-api-key"]',
  'req.headers["x-admin-key"]',
  'req.headers.cookie',
  'headers["x-api-key"]',
  'headers["x-admin-key"]',
  'api_key',
  '*.api_key',
];

declare module 'fastify' {
  interface FastifyRequest {
    address: string;
  }
}

const ReadBatch = z.object({ message_ids: z.array(z.string().min(1).max(128)).min(1).max(100) });
const ReadQuery = z.object({ unread: z.enum(['true', 'false', '1', '0']).optional() });

/** The Agent Email API over Fastify, on any PostOffice. Call `listen` on the result. */
export function buildServer(
  options: ServerOptions,
): FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger> {
  const po = options.postOffice;
  const o = parseOrThrow(Options, options, 'server options');
  const logger = options.logger ?? pino({ level: 'silent' });
  const requestTimeout = o.requestTimeoutMs;
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    logController: new LogController({ disableRequestLogging: o.logRequests === false }),
    return503OnClosing: true,
    // Slow requests (a body trickling in) are cut: 408, connection closed.
    requestTimeout,
    http: {
      headersTimeout: Math.min(requestTimeout, 10_000),
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    // Long path ids reach the routes, to be answered after authentication (414 in our shape); a URL
    // over Node's 16 KiB header limit is refused by Node itself (431).
    routerOptions: { maxParamLength: 65_536 },
  });
  app.server.maxConnections = o.maxConnections;
  app.server.on('drop', (data?: { remoteAddress?: string }) =>
    logger.warn(
      { remoteAddress: data?.remoteAddress, maxConnections: o.maxConnections },
      'connection refused: at the cap',
    ),
  );
  const methodsOf = methodsOfPaths((hook) => app.addHook('onRoute', hook));
  const closing = new AbortController();
  // Every held long poll listens here: a thousand at once is the intended use, not a leak.
  setMaxListeners(0, closing.signal);
  // preClose runs before the server waits for requests in flight: held long polls answer at once.
  // Connections that never carried a request (a client's spare one, opened for a request it then
  // gave up) are not idle to Node and would hold close() open: they are let go on close.
  const unused = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  app.server.on('request', (req: IncomingMessage) => unused.delete(req.socket));
  app.addHook('preClose', async () => {
    closing.abort();
    for (const socket of unused) socket.destroy();
  });
  app.decorateRequest('address', '');

  app.setErrorHandler((err: unknown, req, reply) => sendError(reply, err, req.log));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = methodsOf(path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ detail: `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}` });
    }
    return reply.code(404).send({ detail: `no route ${req.method} ${path}` });
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
  });
  // Bodies the store could not keep exactly, or too deep to walk: 422 before any route runs.
  app.addHook('preValidation', async (req) => {
    const problem = req.body === undefined ? undefined : bodyProblem(req.body);
    if (problem) throw problem;
  });
  // A body of another type than JSON is "not JSON": 400.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_req, _body, done) => {
    done(
      Object.assign(new Error('the body must be JSON (Content-Type: application/json)'), { statusCode: 400 }),
      undefined,
    );
  });

  // Credentials are checked on `onRequest`, before a body is read; a refused request's connection
  // is closed, so that its body is never waited for.
  const refuse = (reply: FastifyReply, message: string) => {
    reply.header('connection', 'close');
    return new AuthError(message);
  };
  const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || key === '') throw refuse(reply, 'missing X-API-Key');
    const address = await po.authenticate(key);
    if (!address) throw refuse(reply, 'unknown API key');
    req.address = address;
  };
  const adminOnly = async (req: FastifyRequest, reply: FastifyReply) => {
    if (o.adminKey !== undefined && !sameKey(req.headers['x-admin-key'], o.adminKey)) {
      throw refuse(reply, 'registration needs a valid X-Admin-Key');
    }
  };
  const store = 'health' in po ? (po as PostOffice & StoreHealth) : undefined;

  app.get('/health', async (_req, reply) => {
    const health = store?.health() ?? { ok: true };
    if (health.ok) return { status: 'ok' };
    return reply.code(503).send({ status: 'unhealthy', detail: health.reason });
  });
  const doc = openApiDocument(o.publicUrl);
  app.get('/openapi.json', async () => doc);

  app.post('/agents/register', { onRequest: adminOnly }, async (req, reply) =>
    reply.code(201).send(await po.register(req.body as never)),
  );

  app.register(async (email) => {
    email.addHook('onRequest', authenticate);
    email.addHook('preHandler', rejectLongIds);
    email.post('/email/send', async (req) => po.send(req.address, (req.body ?? {}) as never));
    const longPoll = options.extensions?.longPoll !== false;
    email.get('/email/inbox', async (req, reply) => {
      const query = parseOrThrow(InboxQuery, req.query, 'inbox query');
      if (!longPoll) return po.inbox(req.address, { ...query, wait: undefined });
      reply.header(LONG_POLL_HEADER, '1');
      return inboxWithWait(po, req, reply, query, closing.signal);
    });
    email.get('/email/sent', async (req) => po.sent(req.address, req.query as never));
    email.get<{ Params: { id: string } }>('/email/message/:id', async (req) => po.message(req.address, req.params.id));
    email.delete<{ Params: { id: string } }>('/email/message/:id', async (req) => {
      await po.delete(req.address, req.params.id);
      return {};
    });
    email.post<{ Params: { id: string } }>('/email/message/:id/read', async (req) => {
      const { unread } = parseOrThrow(ReadQuery, req.query, 'read query');
      await po.markRead(req.address, [req.params.id], { unread: unread === 'true' || unread === '1' });
      return {};
    });
    email.post<{ Params: { id: string } }>('/email/message/:id/star', async (req) =>
      po.star(req.address, req.params.id),
    );
    if (options.extensions?.batchRead !== false) {
      email.post('/email/read', async (req) => {
        const { message_ids } = parseOrThrow(ReadBatch, req.body, 'read request');
        return { marked: await po.markRead(req.address, message_ids) };
      });
    }
    email.get<{ Params: { id: string } }>('/email/thread/:id', async (req) => po.thread(req.address, req.params.id));
    email.get('/email/account', async (req) => po.account(req.address));
    registerLeaseRoutes(email, po, closing.signal);
    if (options.extensions?.push !== false) {
      registerPushRoutes(email, po, closing.signal, { heartbeatMs: o.streamHeartbeatMs, stalledMs: o.streamStalledMs });
    }
    if (options.extensions?.batchSend !== false) registerBatchSendRoute(email, po);
    // The audit trail of a thread as a page, for its participants (X-API-Key as everywhere).
    email.get<{ Params: { id: string } }>('/ui/thread/:id', async (req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PAGE_CSP)
        .send(renderThreadHtml(await po.thread(req.address, req.params.id))),
    );
  });
  // The dashboard (browser sign-in, sessions, its own CSP): src/ui.
  app.register(async (ui) =>
    registerDashboard(ui, {
      postOffice: po,
      ...(o.adminKey ? { adminKey: o.adminKey } : {}),
      closing: closing.signal,
      methodsOf,
    }),
  );

  return app;
}

/** `GET /email/inbox` with the long-poll extension: holds the request until a match or `wait` ends. */
async function inboxWithWait(
  po: PostOffice,
  req: FastifyRequest,
  reply: FastifyReply,
  query: z.output<typeof InboxQuery>,
  closing: AbortSignal,
): Promise<InboxPage> {
  // The response closes early when the client gives up (its socket closed): stop holding then.
  const gone = () => clientGone(reply);
  const { wait, ...rest } = query;
  const page = await po.inbox(req.address, rest);
  if (!wait || page.messages.length > 0 || closing.aborted) return page;
  const deadline = Date.now() + wait * 1000;
  let latest = page;
  while (latest.messages.length === 0) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || closing.aborted) break;
    if (gone()) {
      req.log.debug({ heldMs: wait * 1000 - remaining }, 'long poll given up by the client');
      break;
    }
    await holdFor(po, req.address, reply, remaining, closing);
    latest = await po.inbox(req.address, rest);
  }
  return latest;
}

function sameKey(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
