import {
  AuthError,
  ConflictError,
  ForbiddenError,
  MailboxError,
  MailroomError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '@mailroom/core';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';

/** Fields whose values are too large for the server: answered 413, not 422. */
const SIZE_CAPPED = new Set(['body_text', 'body_html']);

/** An error as the Agent Email API answers it: status, headers and body. */
export type ErrorAnswer = { status: number; headers: Record<string, string>; body: unknown };

/**
 * Answers an error in the shapes of the Agent Email API. A 4xx is logged at debug with why (the
 * message, or the fields a validation failed on; never a key, a body or a value).
 */
export function sendError(reply: FastifyReply, err: unknown, log: FastifyBaseLogger): FastifyReply {
  const answer = errorAnswer(err, log);
  const status = answer.status;
  if (status >= 400 && status < 500 && (log as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.('debug')) {
    const reason =
      err instanceof ValidationError
        ? err.issues
            .slice(0, 5)
            .map((i) => `${i.loc.join('.') || '(body)'}: ${i.msg}`)
            .join('; ')
        : err instanceof Error
          ? err.message
          : String(err);
    log.debug({ status, reason }, `answered ${status}: ${reason}`);
  }
  return reply.code(status).headers(answer.headers).send(answer.body);
}

/** The status, headers and body that answer `err` (a fault of the server is logged). */
export function errorAnswer(err: unknown, log: FastifyBaseLogger): ErrorAnswer {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers, body });
  if (err instanceof RateLimitedError) {
    const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return answer(
      429,
      { error: { code: 'rate_limit_exceeded', message: err.message, retry_after: seconds, details: err.details } },
      { 'retry-after': String(seconds) },
    );
  }
  if (err instanceof ValidationError) {
    const tooLarge = err.issues.some((i) => SIZE_CAPPED.has(String(i.loc[0])) && i.type === 'custom');
    return answer(tooLarge ? 413 : 422, { detail: err.issues });
  }
  if (err instanceof NotFoundError) return answer(404, { detail: err.message });
  if (err instanceof AuthError) return answer(401, { detail: err.message });
  if (err instanceof ForbiddenError) return answer(403, { detail: err.message });
  if (err instanceof ConflictError) return answer(409, { detail: err.message });
  if (err instanceof MailboxError && err.status === 503) {
    // The store cannot write now (locked past the busy timeout, disk full, I/O error): try again.
    log.warn({ err }, 'store unavailable');
    return answer(503, { detail: err.message }, { 'retry-after': '1' });
  }
  if (err instanceof MailroomError) return answer(400, { detail: err.message });
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own: bad JSON (400), body too large (413), unsupported media type (→ 400: "not JSON").
    return answer(status === 415 ? 400 : status, { detail: (err as Error).message });
  }
  log.error({ err }, 'request failed');
  return answer(500, { detail: 'internal server error' });
}
