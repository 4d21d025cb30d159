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

/**
 * Answers an error in the shapes of the Agent Email API. A 4xx is logged at debug with why (the
 * message, or the fields a validation failed on; never a key, a body or a value).
 */
export function sendError(reply: FastifyReply, err: unknown, log: FastifyBaseLogger): FastifyReply {
  const answered = answer(reply, err, log);
  const status = answered.statusCode;
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
  return answered;
}

function answer(reply: FastifyReply, err: unknown, log: FastifyBaseLogger): FastifyReply {
  if (err instanceof RateLimitedError) {
    const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
    return reply
      .code(429)
      .header('retry-after', String(seconds))
      .send({
        error: { code: 'rate_limit_exceeded', message: err.message, retry_after: seconds, details: err.details },
      });
  }
  if (err instanceof ValidationError) {
    const tooLarge = err.issues.some((i) => SIZE_CAPPED.has(String(i.loc[0])) && i.type === 'custom');
    if (tooLarge) return reply.code(413).send({ detail: err.issues });
    return reply.code(422).send({ detail: err.issues });
  }
  if (err instanceof NotFoundError) return reply.code(404).send({ detail: err.message });
  if (err instanceof AuthError) return reply.code(401).send({ detail: err.message });
  if (err instanceof ForbiddenError) return reply.code(403).send({ detail: err.message });
  if (err instanceof ConflictError) return reply.code(409).send({ detail: err.message });
  if (err instanceof MailboxError && err.status === 503) {
    // The store cannot write now (locked past the busy timeout, disk full, I/O error): try again.
    log.warn({ err }, 'store unavailable');
    return reply.code(503).header('retry-after', '1').send({ detail: err.message });
  }
  if (err instanceof MailroomError) return reply.code(400).send({ detail: err.message });
  const status = (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own: bad JSON (400), body too large (413), unsupported media type (→ 400: "not JSON").
    return reply.code(status === 415 ? 400 : status).send({ detail: (err as Error).message });
  }
  log.error({ err }, 'request failed');
  return reply.code(500).send({ detail: 'internal server error' });
}
