import { timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AuthError, ForbiddenError } from '@mailroom/core';
import { type PostOffice, parseOrThrow } from '@mailroom/core/post-office';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  LogController,
  type RawServerDefault,
} from 'fastify';
import { type Logger, pino } from 'pino';
import { z } from 'zod';
import { bodyProblem, methodsOfPaths } from './guards.js';
import { sendError } from './http-errors.js';
import { openApiDocument } from './openapi.js';
import { registerBatchSendRoute, registerPushRoutes } from './push-routes.js';
import { RouteBook } from './routes.js';
import { registerRoutes } from './routes-api.js';
import { SECURITY_HEADERS } from './ui/headers.js';
import { errorPage } from './ui/pages.js';
import { registerDashboard } from './ui/routes.js';

/** Options of {@link buildServer}. */
export type ServerOptions = {
  postOffice: PostOffice;
  /**
   * When set, `POST /agents/register` needs it in `X-Admin-Key`, and the admin API (`/admin/…`:
   * list accounts, rotate and revoke keys) is on, behind it. Without it registration is open and
   * the admin API answers 403.
   */
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

export { LONG_POLL_HEADER } from './routes-api.js';

/** Log paths that never reach the log in the clear. */
export const REDACT = [
  'req.headers["x-api-key"]',
  'req.headers["x-admin-key"]',
  'headers["x-api-key"]',
  'headers["x-admin-key"]',
  'req.headers.cookie',
  'api_key',
  '*.api_key',
];

declare module 'fastify' {
  interface FastifyRequest {
    address: string;
  }
  interface FastifyInstance {
    /** Every route declared with its schemas (what `/openapi.json` is written from); add yours with `app.routeBook.route(…)`. */
    routeBook: RouteBook;
  }
}

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
  const book = new RouteBook();
  book.watch(app as unknown as FastifyInstance);
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
    req.log.debug({ status: 404 }, `answered 404: no route ${req.method} ${path}`);
    // A person who typed a URL (a browser asks for HTML) gets a page with a way to the dashboard;
    // a client of the API gets its JSON.
    if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !isApiPath(path)) {
      return reply
        .code(404)
        .headers(SECURITY_HEADERS)
        .type('text/html; charset=utf-8')
        .send(errorPage(404, `There is no page ${path}.`).text);
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
  const adminApi = async (req: FastifyRequest, reply: FastifyReply) => {
    if (o.adminKey === undefined) {
      reply.header('connection', 'close');
      throw new ForbiddenError(
        'the admin API is off: start the server with an admin key (--admin-key or MAILROOM_ADMIN_KEY)',
      );
    }
    if (!sameKey(req.headers['x-admin-key'], o.adminKey))
      throw refuse(reply, 'the admin API needs a valid X-Admin-Key');
  };
  // One view of the app for the route declarations (its logger type is pino's, not Fastify's base).
  const scope = app as unknown as FastifyInstance;
  registerRoutes(scope, book, po, {
    authenticate,
    registration: adminOnly,
    admin: adminApi,
    closing: closing.signal,
    longPoll: options.extensions?.longPoll !== false,
    batchRead: options.extensions?.batchRead !== false,
    extend: (email) => {
      if (options.extensions?.push !== false) {
        registerPushRoutes(email, book, po, closing.signal, {
          heartbeatMs: o.streamHeartbeatMs,
          stalledMs: o.streamStalledMs,
        });
      }
      if (options.extensions?.batchSend !== false) registerBatchSendRoute(email, book, po);
    },
  });
  // The server's root is the dashboard's door (no API route lives there).
  app.get('/', { schema: { hide: true } as unknown as FastifySchema }, (_req, reply) => reply.redirect('/ui', 302));
  // The dashboard (browser sign-in, sessions, its own CSP; its routes hidden from the document): src/ui.
  app.register(async (ui) =>
    registerDashboard(ui, {
      postOffice: po,
      ...(o.adminKey ? { adminKey: o.adminKey } : {}),
      closing: closing.signal,
      methodsOf,
    }),
  );
  // Written once every route is declared (routes of plugins are declared when the app is ready).
  let doc: Record<string, unknown> | undefined;
  book.route(
    scope,
    {
      method: 'GET',
      url: '/openapi.json',
      summary: 'This document',
      auth: 'none',
      response: { description: 'this document', body: z.record(z.string(), z.unknown()) },
    },
    async () => {
      doc ??= openApiDocument(book.routes, o.publicUrl);
      return doc;
    },
  );
  app.decorate('routeBook', book);

  return app;
}

/** Paths of the API (and the dashboard's JSON thread route): a miss there answers JSON, whoever asks. */
const API_PATHS = /^\/(email|agents|admin|health|ready|openapi\.json|ui\/thread)(\/|$)/;
const isApiPath = (path: string): boolean => API_PATHS.test(path);

function sameKey(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
