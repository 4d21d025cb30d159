import { type PostOffice, RegisterRequest, Registration } from '@mailroom/core/post-office';
import { z } from 'zod';
import {
  AccountLimits,
  AccountList,
  AccountListQuery,
  AccountSummary,
  AgentIdParams,
  hasAccountAdmin,
} from './accounts.js';
import { rejectLongIds } from './guards.js';
import type { App, Hook, RouteBook } from './routes.js';

const Alive = z.object({ status: z.literal('ok') });
const NotReady = z.object({ status: z.literal('unready'), detail: z.string() });

/** What `/ready` may ask of a post office: whether its store answers now. */
type ReadyState = { ok: true } | { ok: false; reason: string };
type Readiness = { ready(): ReadyState | Promise<ReadyState> };
const OK: ReadyState = { ok: true };
/** How long `/ready` waits for the store before it answers 503. */
const READY_TIMEOUT_MS = 5_000;

/**
 * The routes an operator and a deployment use: `/health` and `/ready` (no key), registration
 * (the admin key where the server has one) and the admin API of accounts (on a post office that
 * has accounts to manage).
 */
export function registerOperationRoutes(
  app: App,
  book: RouteBook,
  po: PostOffice,
  o: { registration: Hook; admin: Hook },
): void {
  book.route(
    app,
    {
      method: 'GET',
      url: '/health',
      summary: 'Alive: the process answers (it does not ask the store; see /ready)',
      auth: 'none',
      response: { body: Alive },
    },
    async () => ({ status: 'ok' as const }),
  );
  book.route(
    app,
    {
      method: 'GET',
      url: '/ready',
      summary: 'Ready: the store answers a query (and, on SQLite, can write) now',
      auth: 'none',
      response: { body: Alive },
      errorBodies: {
        503: { description: 'the store does not answer (or cannot write), or the server is closing', body: NotReady },
      },
    },
    async (_input, req, reply) => {
      const readiness = 'ready' in po ? (po as PostOffice & Readiness) : undefined;
      const state = readiness ? await withTimeout(Promise.resolve(readiness.ready()), READY_TIMEOUT_MS) : OK;
      if (state.ok) return { status: 'ok' as const };
      req.log.warn({ reason: state.reason }, 'not ready: the store does not answer');
      return reply.code(503).send({ status: 'unready', detail: state.reason });
    },
  );
  book.route(
    app,
    {
      method: 'POST',
      url: '/agents/register',
      summary: 'Create an account; its API key is shown once',
      description: 'A `profile` is at most 4 KiB of JSON. Needs `X-Admin-Key` when the server has an admin key.',
      auth: 'registration',
      onRequest: o.registration,
      body: RegisterRequest,
      response: { status: 201, description: 'registered', body: Registration },
      errors: [409],
    },
    async ({ body }, req) => {
      const registration = await po.register(body);
      req.log.info({ agent_id: registration.agent_id }, 'agent registered');
      return registration;
    },
  );

  // The admin API: accounts an operator manages (on a post office that has them).
  if (hasAccountAdmin(po)) {
    app.register(async (admin) => {
      admin.addHook('onRequest', o.admin);
      admin.addHook('preHandler', rejectLongIds);
      book.route(
        admin,
        {
          method: 'GET',
          url: '/admin/accounts',
          summary: 'Every account, by agent id, a page at a time',
          auth: 'adminKey',
          query: AccountListQuery,
          response: { body: AccountList },
        },
        async ({ query }) => po.listAccounts(query),
      );
      book.route(
        admin,
        {
          method: 'POST',
          url: '/admin/accounts/:agent_id/rotate-key',
          summary: 'A new API key for an account; the old one stops working at once',
          description: 'The new key is shown once. The account keeps its mail and quotas.',
          auth: 'adminKey',
          params: AgentIdParams,
          response: { body: Registration },
        },
        async ({ params }, req) => {
          const registration = await po.rotateKey(params.agent_id);
          req.log.info({ agent_id: params.agent_id }, 'API key rotated');
          return registration;
        },
      );
      book.route(
        admin,
        {
          method: 'POST',
          url: '/admin/accounts/:agent_id/revoke-key',
          summary: 'Revoke an account’s API key: no key opens it until rotate-key gives it a new one',
          auth: 'adminKey',
          params: AgentIdParams,
          response: { body: AccountSummary },
        },
        async ({ params }, req) => {
          const summary = await po.revokeKey(params.agent_id);
          req.log.info({ agent_id: params.agent_id }, 'API key revoked');
          return summary;
        },
      );
      book.route(
        admin,
        {
          method: 'POST',
          url: '/admin/accounts/:agent_id/limits',
          summary: 'New send quotas for an account (hourly, daily or both); they hold at once',
          description: 'Sends already counted in the current windows stay counted.',
          auth: 'adminKey',
          params: AgentIdParams,
          body: AccountLimits,
          response: { body: AccountSummary },
        },
        async ({ params, body }, req) => {
          const summary = await po.setAccountLimits(params.agent_id, body);
          req.log.info({ agent_id: params.agent_id, limits: body }, 'send quotas changed');
          return summary;
        },
      );
    });
  }
}

/** The promise's value, or a failure reason once `ms` passed. */
async function withTimeout(promise: Promise<ReadyState>, ms: number): Promise<ReadyState> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadyState>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `the store did not answer within ${ms} ms` }), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
