import { ForbiddenError, type PostOffice } from '@mailroom/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies, SESSION_COOKIE, type Session, type SessionStore, sameSecret } from './session.js';

/** A form's fields as the dashboard's parser gives them. */
export type Form = Record<string, string>;

/**
 * Who a dashboard request is: its session (from the cookie, still valid against the post office)
 * and the checks of a form it posts. Methods are bound: they may be passed around alone.
 */
export class DashboardAuth {
  constructor(
    private readonly po: PostOffice,
    private readonly sessions: SessionStore,
  ) {}

  /**
   * Whether a session may still act: the admin's always; an account's while the key it signed
   * in with still opens the account (asked of the store, so a key rotated or revoked by the
   * CLI, the admin API or another replica ends it at its next use). Ended here otherwise.
   */
  readonly stillValid = async (session: Session, req: FastifyRequest): Promise<boolean> => {
    if (session.principal.kind === 'admin') return true;
    const key = this.sessions.keyOf(session.id);
    if (key !== undefined && (await this.po.authenticate(key)) === session.principal.address) return true;
    this.sessions.delete(session.id);
    req.log.info({ as: session.principal.address }, 'dashboard session ended: its key was rotated or revoked');
    return false;
  };

  readonly sessionOf = async (req: FastifyRequest): Promise<Session | undefined> => {
    const session = this.sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    return session && (await this.stillValid(session, req)) ? session : undefined;
  };

  /** The session, or none when the store cannot say (logged): for an error page's header, and sign-out. */
  readonly sessionOrNone = (req: FastifyRequest): Promise<Session | undefined> =>
    this.sessionOf(req).catch((err: unknown) => {
      req.log.warn({ err }, 'dashboard: the session could not be checked; going on without it');
      return undefined;
    });

  /** The session of a page request, or a redirect to the sign-in page. */
  readonly signedIn = async (req: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> => {
    const session = await this.sessionOf(req);
    if (!session) void reply.redirect('/ui/sign-in', 303);
    return session;
  };

  /** A POST from this site: same Origin (or same-origin Fetch metadata) and the right token. */
  readonly checkForm = (req: FastifyRequest, expected: string | undefined): Form => {
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
      throw new ForbiddenError('This form has expired or was not sent from this page. Reload the page and try again.');
    }
    return form;
  };
}
