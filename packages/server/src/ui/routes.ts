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
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { Subscription } from 'rxjs';
import { z } from 'zod';
import { CSS, JS } from './assets.js';
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
import type { Html } from './html.js';
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

/** The dashboard's Content-Security-Policy: nothing but this server's own files; no inline script or style. */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: Chromium then sends `Origin: null` with a form, and the Origin check refuses it.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

const DECISION = z.enum(['retry', 'skip', 'restart', 'stop']);
const AnswerForm = z.object({
  message_id: z.string().min(1).max(128),
  as: z.string().min(1).max(320),
  decision: DECISION,
  note: z.string().max(2000).optional(),
});
const SignInForm = z.object({ key: z.string().max(1024).default('') });
/** Routes of the dashboard are not part of the API: kept out of the OpenAPI document. */
const HIDDEN = { schema: { hide: true } as unknown as FastifySchema };

type Form = Record<string, string>;

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
        return problem(req, reply.code(status), message, await sessionForError(req));
      });
      ui.setNotFoundHandler(async (req, reply) => {
        const path = req.url.split('?')[0] ?? '';
        const allowed = options.methodsOf?.(path) ?? [];
        if (allowed.length > 0) {
          const message = `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}`;
          return problem(req, reply.code(405).header('allow', allowed.join(', ')), message, await sessionForError(req));
        }
        return problem(req, reply.code(404), `There is no page ${path}.`, await sessionForError(req));
      });

      /**
       * Whether a session may still act: the admin's always; an account's while the key it signed
       * in with still opens the account (asked of the store, so a key rotated or revoked by the
       * CLI, the admin API or another replica ends it at its next use). Ended here otherwise.
       */
      const stillValid = async (session: Session, req: FastifyRequest): Promise<boolean> => {
        if (session.principal.kind === 'admin') return true;
        const key = sessions.keyOf(session.id);
        if (key !== undefined && (await po.authenticate(key)) === session.principal.address) return true;
        sessions.delete(session.id);
        req.log.info({ as: session.principal.address }, 'dashboard session ended: its key was rotated or revoked');
        return false;
      };
      const sessionOf = async (req: FastifyRequest): Promise<Session | undefined> => {
        const session = sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
        return session && (await stillValid(session, req)) ? session : undefined;
      };
      /** For an error page's header: no session when the store cannot say (the page shows the error). */
      const sessionForError = (req: FastifyRequest): Promise<Session | undefined> =>
        sessionOf(req).catch((err: unknown) => {
          req.log.warn({ err }, 'dashboard: the session could not be checked for an error page');
          return undefined;
        });
      const secure = (req: FastifyRequest) => req.protocol === 'https';

      /** The session of a page request, or a redirect to the sign-in page. */
      const signedIn = async (req: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> => {
        const session = await sessionOf(req);
        if (!session) void reply.redirect('/ui/sign-in', 303);
        return session;
      };

      /** A POST from this site: same Origin (or same-origin Fetch metadata) and the right token. */
      const checkForm = (req: FastifyRequest, expected: string | undefined): Form => {
        const origin = req.headers.origin;
        const host = req.headers.host;
        if (origin !== undefined) {
          let sameHost = false;
          try {
            sameHost = origin !== 'null' && new URL(origin).host === host;
          } catch {
            sameHost = false;
          }
          if (!sameHost) throw new ForbiddenError('This form was sent from another site: refused.');
        } else {
          const site = req.headers['sec-fetch-site'];
          if (site !== undefined && site !== 'same-origin' && site !== 'none')
            throw new ForbiddenError('This form was sent from another site: refused.');
        }
        const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Form;
        if (expected === undefined || !sameSecret(form._csrf, expected)) {
          throw new ForbiddenError(
            'This form has expired or was not sent from this page. Reload the page and try again.',
          );
        }
        return form;
      };

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
        const session = await sessionOf(req).catch(() => undefined);
        // Signed out already (expired, or another tab): nothing to protect, only the cookie to clear.
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

      ui.get('/events', HIDDEN, async (req, reply) => {
        const session = await sessionOf(req);
        if (!session) return reply.code(401).send({ detail: 'not signed in to the dashboard' });
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          ...SECURITY_HEADERS,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
        });
        const subscriptions = new Map<string, Subscription>();
        let ended = false;
        const watch = async () => {
          for (const address of await addressesOf(po, session.principal)) {
            if (ended || subscriptions.has(address)) continue;
            subscriptions.set(
              address,
              po.wakeups(address).subscribe(() => {
                if (!ended) res.write('event: mail\ndata: {}\n\n');
              }),
            );
          }
        };
        const end = () => {
          if (ended) return;
          ended = true;
          clearInterval(heartbeat);
          options.closing.removeEventListener('abort', end);
          for (const s of subscriptions.values()) s.unsubscribe();
          res.end();
        };
        const beat = async () => {
          // Ends with its session: expired, signed out, or its account's key rotated or revoked.
          if (!sessions.alive(session.id) || !(await stillValid(session, req))) return end();
          if (ended) return;
          res.write(': keep-alive\n\n');
          // The admin sees accounts registered since the stream opened.
          if (session.principal.kind === 'admin') await watch();
        };
        const heartbeat = setInterval(() => {
          beat().catch((err: unknown) =>
            req.log.warn({ err }, 'live updates: could not check the session or list accounts'),
          );
        }, heartbeatMs);
        heartbeat.unref();
        options.closing.addEventListener('abort', end);
        if (options.closing.aborted) return end();
        req.raw.on('close', end);
        res.on('close', end);
        await watch().catch((err: unknown) => {
          req.log.warn({ err }, 'live updates: could not watch the mailboxes');
          end();
        });
        // The first bytes (and the headers) go out once every mailbox is watched: a page that saw
        // the stream open misses no mail sent after that.
        if (!ended) res.write('retry: 3000\n\n');
      });
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
