import { parseOrThrow } from '@mailroom/core/post-office';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { z } from 'zod';

// One place where a route is declared with its schemas: the schemas validate what comes in (a
// ValidationError: 422 `{ detail: [{ loc, msg, type }] }`, as everywhere) and the same schemas
// write the route into `/openapi.json` (see openapi.ts). A route added with `book.route(…)` is in
// the document; a route that should not be (a page for people) says `hide: true`.

/** The server's Fastify instance, or a scope (plugin) of it. */
export type App = FastifyInstance;
/** An `onRequest` hook of a scope (its authentication). */
export type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Whether a request's logger writes debug lines (build their fields only then). */
export const debugOn = (log: FastifyBaseLogger): boolean => (log as Logger).isLevelEnabled('debug');

/** Announces an extension: its header (`X-Mailroom-…: 1`) on every answer of `scope`, so a client learns of it from its first call. */
export function announce(scope: App, header: string): void {
  scope.addHook('onSend', async (_req, reply) => {
    reply.header(header, '1');
  });
}

/** Who may call a route. */
export type RouteAuth =
  /** `X-API-Key`: an account's key (401 without a valid one). */
  | 'apiKey'
  /** `X-Admin-Key`: the server's admin key (401 without it; 403 when the server has none). */
  | 'adminKey'
  /** `X-Admin-Key` when the server was started with one, else anyone. */
  | 'registration'
  /** Anyone. */
  | 'none';

/** Statuses a route answers besides those its shape implies (401 behind a key, 404 and 414 for path ids, 400, 413 and 422 for a body, 422 for a query, 503 always). */
export type ExtraStatus = 400 | 403 | 404 | 409 | 422 | 429;

/** What a route is: its method, path, schemas and answers. */
export type RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
> = {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  /** Fastify's syntax: `/email/message/:message_id`. */
  url: string;
  /** One line for the document. */
  summary: string;
  description?: string;
  auth: RouteAuth;
  /** Path parameters (an object schema, one key per `:name`). */
  params?: P;
  /** The query string (an object schema; values arrive as strings: coerce). */
  query?: Q;
  /** The JSON body; a missing body is checked as `{}`. */
  body?: B;
  /** Request headers the route reads (an object schema, lower-case names): `Last-Event-ID`. */
  headers?: z.ZodType;
  /**
   * The success answer: its status (default 200) and body — a zod schema (JSON), `html` for a
   * page, or `{ mediaType }` for anything else (`text/event-stream`).
   */
  response: { status?: number; description?: string; body: z.ZodType | 'html' | { mediaType: string } };
  /** Statuses this route answers beyond the implied ones (`404` for an unknown recipient, `409`, `429`). */
  errors?: readonly ExtraStatus[];
  /** Bodies of error statuses that differ from the API's usual ones (`/ready`'s 503). */
  errorBodies?: Partial<Record<number, { description: string; body: z.ZodType }>>;
  /** Kept out of `/openapi.json` (pages for people, the dashboard). */
  hide?: boolean;
  /** Fastify hooks of this route alone (authentication of a route outside the authenticated scope). */
  onRequest?: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
};

/** What a handler gets: the request's parts, parsed by the route's schemas. */
export type RouteInput<P, Q, B> = {
  params: P extends z.ZodType ? z.output<P> : undefined;
  query: Q extends z.ZodType ? z.output<Q> : undefined;
  body: B extends z.ZodType ? z.output<B> : undefined;
  /** The headers the route's `headers` schema names, parsed (else `undefined`). */
  headers: Record<string, unknown> | undefined;
};

/** A route as the document generator reads it. */
export type DocumentedRoute = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/**
 * Every route declared through it, for `/openapi.json`. Declare a route with
 * `book.route(app, spec, handler)` — in the Fastify scope (plugin) whose hooks it needs.
 */
export class RouteBook {
  readonly routes: DocumentedRoute[] = [];
  /** Every route Fastify was given (through the book or not), as `METHOD url`. */
  private readonly all = new Set<string>();

  /**
   * Watches every route added to `app` (call before any is), for {@link undeclared}. A route
   * added to Fastify directly with `schema: { hide: true }` (the convention of @fastify/swagger)
   * is kept out of the document on purpose, as `hide: true` does here.
   */
  watch(app: App): void {
    app.addHook('onRoute', (route) => {
      if ((route.schema as { hide?: unknown } | undefined)?.hide === true) return;
      for (const method of [route.method].flat()) if (method !== 'HEAD') this.all.add(`${method} ${route.url}`);
    });
  }

  /**
   * Routes added to Fastify directly (`app.get(…)`) rather than with {@link route}, and not
   * hidden: they are missing from `/openapi.json`. A test keeps this empty.
   */
  undeclared(): string[] {
    const declared = new Set(this.routes.map((r) => `${r.method} ${r.url}`));
    return [...this.all].filter((r) => !declared.has(r));
  }

  route<
    P extends z.ZodType | undefined = undefined,
    Q extends z.ZodType | undefined = undefined,
    B extends z.ZodType | undefined = undefined,
  >(
    app: App,
    spec: RouteSpec<P, Q, B>,
    handler: (input: RouteInput<P, Q, B>, req: FastifyRequest, reply: FastifyReply) => unknown,
  ): void {
    this.routes.push(spec as DocumentedRoute);
    const what = `${spec.method} ${spec.url}`;
    const run: RouteHandlerMethod = async (req, reply) => {
      const input = {
        params: spec.params ? parseOrThrow(spec.params, req.params, `path of ${what}`) : undefined,
        query: spec.query ? parseOrThrow(spec.query, req.query, `query of ${what}`) : undefined,
        body: spec.body ? parseOrThrow(spec.body, req.body ?? {}, `body of ${what}`) : undefined,
        headers: spec.headers ? parseOrThrow(spec.headers, req.headers, `headers of ${what}`) : undefined,
      } as RouteInput<P, Q, B>;
      const result = await handler(input, req, reply);
      if (reply.sent) return reply;
      if (spec.response.status !== undefined && spec.response.status !== 200) reply.code(spec.response.status);
      return result;
    };
    app.route({
      method: spec.method,
      url: spec.url,
      handler: run,
      ...(spec.onRequest ? { onRequest: spec.onRequest } : {}),
    });
  }
}

/**
 * The error statuses a route answers because of what it is: 401 behind a key (and 403 on the
 * admin API of a server without an admin key); 414 and 404 for path ids; 400, 413 and 422 for
 * anything with a body (not JSON; too large; too deep, a NUL, or failing the schema); 422 for
 * a query; 503 everywhere (the store cannot write, or the server is closing).
 */
export function impliedErrors(route: DocumentedRoute): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  if (route.auth === 'apiKey' || route.auth === 'adminKey' || route.auth === 'registration') statuses.add(401);
  if (route.auth === 'adminKey') statuses.add(403);
  if (route.params) {
    statuses.add(414);
    statuses.add(404);
  }
  if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method)) {
    statuses.add(400);
    statuses.add(413);
    statuses.add(422);
  }
  if (route.query || route.headers) statuses.add(422);
  statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}
