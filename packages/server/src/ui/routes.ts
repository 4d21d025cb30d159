import {
  ForbiddenError,
  MailroomError,
  type Message,
  NotFoundError,
  type PostOffice,
  parseSubject,
  RateLimitedError,
  ValidationError,
} from '@mailroom/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CSS, JS } from './assets.js';
import { DashboardAuth } from './auth.js';
import {
  addressesOf,
  agents,
  deadLetters,
  type MailIndex,
  readMail,
  tasks,
  threads,
  waitingEscalations,
} from './data.js';
import { SECURITY_HEADERS } from './headers.js';
import type { Html } from './html.js';
import { HIDDEN, registerLiveUpdates } from './live.js';
import {
  agentsPage,
  attentionPage,
  errorPage,
  overviewPage,
  signInPage,
  tasksPage,
  threadPage,
  threadsPage,
} from './pages.js';
import {
  cookie,
  newToken,
  parseCookies,
  SESSION_COOKIE,
  type Session,
  SessionStore,
  SIGN_IN_COOKIE,
  SignInLimiter,
  sameSecret,
} from './session.js';

/** Options of the dashboard ({@link registerDashboard}). */
export type DashboardOptions = {
  postOffice: PostOffice;
  /** The server's admin key: signing in with it shows every account. Without it, accounts only. */
  adminKey?: string;
  /** Aborted when the server closes: live-update streams end then. */
  closing: AbortSignal;
  /** How long a session lives after its last use. @default 8 hours */
  sessionTtlMs?: number;
  /** Most sessions at once (the least recently used goes first). @default 10000 */
  maxSessions?: number;
  /** How often a live-update stream sends a keep-alive (and checks its session). @default 15000 */
  heartbeatMs?: number;
  /** Sign-in attempts per client address: `burst` at once, then one every `refillMs`. @default { burst: 10, refillMs: 6000 } */
  signInLimit?: { burst?: number; refillMs?: number };
  /** The clock of sessions and of the sign-in limit (ms). @default Date.now */
  now?: () => number;
  /** The methods a path has (for 405 and `Allow` on a path under /ui with other methods). */
  methodsOf?: (path: string) => string[];
};

const DECISION = z.enum(['retry', 'skip', 'restart', 'stop']);
const AnswerForm = z.object({
  message_id: z.string().min(1).max(128),
  as: z.string().min(1).max(320),
  decision: DECISION,
  note: z.string().max(2000).optional(),
});
const SignInForm = z.object({ key: z.string().max(1024).default('') });

/**
 * The dashboard under `/ui`: a browser signs in with the admin key or an account's API key and
 * gets a server-side session (an HttpOnly, SameSite=Strict cookie). Pages are server-rendered;
 * every form carries the session's CSRF token and is checked for its Origin.
 */
export function registerDashboard(app: FastifyInstance, options: DashboardOptions): void {
  const po = options.postOffice;
  const ttlMs = options.sessionTtlMs ?? 8 * 3600_000;
  const sessions = new SessionStore(ttlMs, options.maxSessions ?? 10_000, options.now);
  const signInLimiter = new SignInLimiter(options.signInLimit?.burst, options.signInLimit?.refillMs, options.now);
  const heartbeatMs = options.heartbeatMs ?? 15_000;

  app.register(
    async (ui) => {
      ui.addHook('onRequest', async (_req, reply) => {
        reply.headers(SECURITY_HEADERS);
        reply.header('cache-control', 'no-store');
      });
      ui.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
      );
      ui.setErrorHandler(async (err: unknown, req, reply) => {
        const status = statusOf(err);
        if (status >= 500) req.log.error({ err }, 'dashboard page failed');
        else req.log.info({ status, reason: err instanceof Error ? err.message : String(err) }, 'dashboard refused');
        const message =
          status >= 500
            ? 'The server could not show this page. The error is in its log.'
            : err instanceof Error
              ? err.message
              : String(err);
        return problem(req, reply.code(status), message, await sessionOrNone(req));
      });
      ui.setNotFoundHandler(async (req, reply) => {
        const path = req.url.split('?')[0] ?? '';
        const allowed = options.methodsOf?.(path) ?? [];
        if (allowed.length > 0) {
          const message = `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}`;
          return problem(req, reply.code(405).header('allow', allowed.join(', ')), message, await sessionOrNone(req));
        }
        return problem(req, reply.code(404), `There is no page ${path}.`, await sessionOrNone(req));
      });

      const auth = new DashboardAuth(po, sessions);
      const { sessionOf, sessionOrNone, signedIn, checkForm } = auth;
      const secure = (req: FastifyRequest) => req.protocol === 'https';

      const mailOf = async (session: Session): Promise<MailIndex> =>
        readMail(po, await addressesOf(po, session.principal));

      ui.get('/assets/dashboard.css', HIDDEN, async (_req, reply) =>
        reply.header('cache-control', 'no-cache').type('text/css; charset=utf-8').send(CSS),
      );
      ui.get('/assets/dashboard.js', HIDDEN, async (_req, reply) =>
        reply.header('cache-control', 'no-cache').type('text/javascript; charset=utf-8').send(JS),
      );

      ui.get('/sign-in', HIDDEN, async (req, reply) => {
        if (await sessionOf(req)) return reply.redirect('/ui', 303);
        const token = newToken();
        reply.header('set-cookie', cookie(SIGN_IN_COOKIE, token, { maxAgeS: 3600, secure: secure(req) }));
        return page(reply, signInPage({ token, adminAvailable: options.adminKey !== undefined }));
      });

      ui.post('/sign-in', HIDDEN, async (req, reply) => {
        const expected = parseCookies(req.headers.cookie).get(SIGN_IN_COOKIE);
        const form = checkForm(req, expected);
        const waitMs = signInLimiter.take(req.ip);
        if (waitMs > 0) {
          const seconds = Math.ceil(waitMs / 1000);
          req.log.warn({ remoteAddress: req.ip }, 'dashboard sign-in refused: too many attempts');
          return page(
            reply.code(429).header('retry-after', String(seconds)),
            signInPage({
              token: expected as string,
              error: `Too many sign-in attempts from your address. Try again in ${seconds} s.`,
              adminAvailable: options.adminKey !== undefined,
            }),
          );
        }
        const given = SignInForm.safeParse(form).data?.key.trim() ?? '';
        let session: Session | undefined;
        if (options.adminKey !== undefined && sameSecret(given, options.adminKey)) {
          session = sessions.create({ kind: 'admin' });
        } else if (given !== '' && given.length <= 512) {
          const address = await po.authenticate(given);
          if (address) session = sessions.create({ kind: 'account', address }, given);
        }
        if (!session) {
          req.log.info({ remoteAddress: req.ip }, 'dashboard sign-in refused: unknown key');
          const error =
            given === ''
              ? 'Paste a key to sign in.'
              : options.adminKey !== undefined
                ? 'That key is neither the admin key nor an account’s API key. Check it and try again.'
                : 'That key is not an account’s API key. Check it and try again.';
          return page(
            reply.code(401),
            signInPage({ token: expected as string, error, adminAvailable: options.adminKey !== undefined }),
          );
        }
        req.log.info(
          session.principal.kind === 'admin' ? { as: 'admin' } : { as: session.principal.address },
          'dashboard sign-in',
        );
        reply.header('set-cookie', [
          cookie(SESSION_COOKIE, session.id, { maxAgeS: ttlMs / 1000, secure: secure(req) }),
          cookie(SIGN_IN_COOKIE, '', { maxAgeS: 0, secure: secure(req) }),
        ]);
        return reply.redirect('/ui', 303);
      });

      ui.post('/sign-out', HIDDEN, async (req, reply) => {
        // Signed out already (expired, or another tab), or a store that cannot say (logged): nothing
        // to protect, only the cookie to clear.
        const session = await sessionOrNone(req);
        if (session) {
          checkForm(req, session.csrf);
          sessions.delete(session.id);
        }
        reply.header('set-cookie', cookie(SESSION_COOKIE, '', { maxAgeS: 0, secure: secure(req) }));
        return reply.redirect('/ui/sign-in', 303);
      });

      ui.get('/', HIDDEN, async (req, reply) => {
        const session = await signedIn(req, reply);
        if (!session) return reply;
        const index = await mailOf(session);
        const canList = session.principal.kind === 'account' || 'addresses' in po;
        return page(
          reply,
          overviewPage(session, {
            agents: await agents(po, index),
            threads: threads(index),
            tasks: tasks(index),
            escalations: waitingEscalations(index),
            dead: deadLetters(index).length,
            partial: index.partial,
            canList,
          }),
        );
      });

      ui.get('/agents', HIDDEN, async (req, reply) => {
        const session = await signedIn(req, reply);
        if (!session) return reply;
        const index = await mailOf(session);
        return page(reply, agentsPage(session, await agents(po, index)));
      });

      ui.get<{ Querystring: { q?: string } }>('/threads', HIDDEN, async (req, reply) => {
        const session = await signedIn(req, reply);
        if (!session) return reply;
        const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
        const index = await mailOf(session);
        return page(reply, threadsPage(session, threads(index, q), q, index.partial));
      });

      ui.get('/tasks', HIDDEN, async (req, reply) => {
        const session = await signedIn(req, reply);
        if (!session) return reply;
        const index = await mailOf(session);
        return page(reply, tasksPage(session, tasks(index), index.partial));
      });

      ui.get('/attention', HIDDEN, async (req, reply) => {
        const session = await signedIn(req, reply);
        if (!session) return reply;
        const index = await mailOf(session);
        return page(reply, attentionPage(session, waitingEscalations(index), deadLetters(index), index.partial));
      });

      ui.get<{ Params: { id: string }; Querystring: { answered?: string } }>(
        '/threads/:id',
        HIDDEN,
        async (req, reply) => {
          const session = await signedIn(req, reply);
          if (!session) return reply;
          const id = req.params.id;
          const missing = new NotFoundError(`There is no thread ${id.slice(0, 128)} that you can see.`);
          if (id.length > 128) throw missing;
          const addresses = await addressesOf(po, session.principal);
          let found: Awaited<ReturnType<PostOffice['thread']>> | undefined;
          for (const address of addresses) {
            try {
              found = await po.thread(address, id);
              break;
            } catch (err) {
              if (!(err instanceof NotFoundError || err instanceof ForbiddenError)) throw err;
            }
          }
          if (!found) throw missing;
          const waiting = waitingEscalations({
            addresses,
            messages: found.messages.map((message) => ({ message, owners: new Set<string>() })),
            unread: new Map(),
            partial: false,
          });
          const answered = DECISION.safeParse(req.query.answered);
          const notice = answered.success ? `Your decision “${answered.data}” was sent in this thread.` : undefined;
          return page(reply, threadPage(session, found, waiting, notice));
        },
      );

      ui.post('/escalations/answer', HIDDEN, async (req, reply) => {
        const session = await sessionOf(req);
        if (!session) return reply.redirect('/ui/sign-in', 303);
        const form = checkForm(req, session.csrf);
        const parsed = AnswerForm.safeParse(form);
        if (!parsed.success) {
          throw pageError(422, 'Choose a decision (retry, skip, restart or stop) before sending.');
        }
        const answer = parsed.data;
        const allowed = await addressesOf(po, session.principal);
        if (!allowed.includes(answer.as)) throw new ForbiddenError(`You cannot answer as ${answer.as}.`);
        const escalation: Message = await po.message(answer.as, answer.message_id);
        const subject = parseSubject(escalation.subject);
        if (escalation.direction !== 'inbound' || subject instanceof Error || subject.kind !== 'escalation') {
          throw pageError(422, 'That message is not an escalation this account received.');
        }
        const note = answer.note?.trim();
        const sent = await po.send(answer.as, {
          to: [escalation.from_address],
          subject: (/^\s*re\s*:/i.test(escalation.subject) ? escalation.subject : `Re: ${escalation.subject}`).slice(
            0,
            256,
          ),
          in_reply_to: escalation.message_id,
          body_text: JSON.stringify({ decision: answer.decision, ...(note ? { note } : {}) }),
          idempotency_key: `reply:${escalation.message_id}`,
        });
        req.log.info(
          { message_id: escalation.message_id, as: answer.as, decision: answer.decision },
          'escalation answered from the dashboard',
        );
        return reply.redirect(
          `/ui/threads/${encodeURIComponent(sent.thread_id)}?answered=${answer.decision}#m-${encodeURIComponent(sent.message_id)}`,
          303,
        );
      });

      registerLiveUpdates(ui, { po, auth, sessions, heartbeatMs, closing: options.closing });
    },
    { prefix: '/ui' },
  );
}

function page(reply: FastifyReply, body: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body.text);
}

/** An error whose message the page shows as it is, with its status. */
function pageError(status: number, message: string): Error {
  return Object.assign(new Error(message), { statusCode: status });
}

/**
 * An error answer: a page for a browser (it asks for text/html), the API's `{ detail }` JSON for
 * any other client, as everywhere else on the server.
 */
function problem(req: FastifyRequest, reply: FastifyReply, message: string, session: Session | undefined) {
  if ((req.headers.accept ?? '').includes('text/html')) {
    return page(reply, errorPage(reply.statusCode, message, session));
  }
  return reply.send({ detail: message });
}

function statusOf(err: unknown): number {
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof RateLimitedError) return 429;
  if (err instanceof ValidationError) return 422;
  if (err instanceof MailroomError) return 500;
  const code = (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}
