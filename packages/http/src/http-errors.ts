import {
  AuthError,
  ConflictError,
  ForbiddenError,
  MailboxError,
  NotFoundError,
  RateLimitedError,
  ValidationError,
} from '@mailroom/core';
import { RateLimitBody, ValidationErrorBody } from '@mailroom/core/post-office';
import { HTTPError } from 'ky';
import type { z } from 'zod';

/**
 * The cause kept on a Mailroom error: ky's errors carry the request's options (its headers with
 * the API key, its JSON body), which a logger would print. Only the name and message are kept.
 */
export function safeCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  return Object.assign(new Error(err.message), { name: err.name });
}

/**
 * Why a request did not get through, in a word a person can act on: the system's code where there
 * is one (`ECONNREFUSED`, `ENOTFOUND`; fetch hides it in `cause`), else the error's message.
 */
export function networkReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  for (const v of [e?.cause?.code, e?.code]) if (typeof v === 'string' && v !== '') return v;
  if (e?.cause && typeof e.cause.message === 'string' && e.cause.message !== '') return e.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Maps what ky threw to one of Mailroom's errors. */
export async function toMailroomError(thrown: unknown): Promise<Error> {
  const err = thrown instanceof HTTPError ? thrown : undefined;
  if (!err) {
    return new MailboxError(`request failed: ${thrown instanceof Error ? thrown.message : String(thrown)}`, undefined, {
      cause: safeCause(thrown),
    });
  }
  return errorOfAnswer(err.response.status, err.data, err.response.headers, safeCause(err));
}

/** The Mailroom error of a status and body the server answered (for a request or one item of a batch). */
export function errorOfAnswer(
  status: number,
  data: unknown,
  headers: { get(name: string): string | null } | undefined,
  cause: Error,
): Error {
  if (status >= 300 && status < 400) {
    const to = headers?.get('location');
    return new MailboxError(
      `server answered ${status} (a redirect${to ? ` to ${to}` : ''}): not followed, the API key stays with the base URL`,
      status,
      { cause },
    );
  }
  const detail =
    typeof data === 'object' && data !== null && 'detail' in data && typeof data.detail === 'string'
      ? data.detail
      : `HTTP ${status}`;
  switch (status) {
    case 401:
      return new AuthError(detail, { cause });
    case 403:
      return new ForbiddenError(detail, { cause });
    case 404:
      return new NotFoundError(detail, { cause });
    case 409:
      return new ConflictError(detail);
    case 413:
      return new ValidationError(
        'request body over the server’s limit',
        [{ loc: ['body'], msg: 'too large', type: 'too_large' }],
        { cause },
      );
    case 422: {
      const body = ValidationErrorBody.safeParse(data);
      const issues = body.success ? body.data.detail : [];
      return new ValidationError(`rejected by the server: ${issues[0]?.msg ?? detail}`, issues, { cause });
    }
    case 429: {
      const body = RateLimitBody.safeParse(data);
      const header = Number(headers?.get('retry-after') ?? Number.NaN);
      const seconds = Number.isFinite(header) ? header : body.success ? body.data.error.retry_after : 60;
      return new RateLimitedError(
        body.success ? body.data.error.message : 'rate limited',
        seconds * 1000,
        body.success ? body.data.error.details : undefined,
        { cause },
      );
    }
    default:
      return new MailboxError(`server answered ${status}: ${detail}`, status, { cause });
  }
}

/** An answer's body as `schema` has it, or a MailboxError. */
export function checked<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const why = parsed.error.issues[0]?.message ?? 'unexpected shape';
    throw new MailboxError(`invalid response from the server: ${why}`, 200, { cause: parsed.error });
  }
  return parsed.data;
}
