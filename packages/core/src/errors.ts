import type { z } from 'zod';

/** Every error code Mailroom raises. */
export type MailroomErrorCode =
  | 'rate_limited'
  | 'protocol_error'
  | 'not_found'
  | 'forbidden'
  | 'auth_error'
  | 'validation_error'
  | 'conflict'
  | 'task_timeout'
  | 'task_failed'
  | 'task_canceled'
  | 'mailbox_error'
  | 'queue_full'
  | 'withdrawn'
  | 'stopped';

/** The root of Mailroom's one error family: every error carries a literal `code`. */
export class MailroomError<C extends MailroomErrorCode = MailroomErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Which quota window a send went over. */
export type LimitType = 'hourly' | 'daily';

/** Details of a 429, as the Agent Email API reports them. */
export type RateLimitDetails = {
  limit_type: LimitType;
  hourly_used: number;
  hourly_limit: number;
  hourly_resets_at: string;
  daily_used: number;
  daily_limit: number;
};

/** A send went over the account's hourly or daily quota. */
export class RateLimitedError extends MailroomError<'rate_limited'> {
  readonly retryAfterMs: number;
  readonly details: RateLimitDetails | undefined;
  constructor(message: string, retryAfterMs: number, details?: RateLimitDetails, options?: { cause?: unknown }) {
    super('rate_limited', message, options);
    this.retryAfterMs = retryAfterMs;
    this.details = details;
  }
}

/** A subject or body that does not follow the subject-line protocol. */
export class ProtocolError extends MailroomError<'protocol_error'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('protocol_error', message, options);
  }
}

/** The thing asked for does not exist, or the caller may not know that it exists. */
export class NotFoundError extends MailroomError<'not_found'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('not_found', message, options);
  }
}

/** The caller is known but may not do this. */
export class ForbiddenError extends MailroomError<'forbidden'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('forbidden', message, options);
  }
}

/** No API key, or an unknown one. */
export class AuthError extends MailroomError<'auth_error'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('auth_error', message, options);
  }
}

/** One problem found by validation, in the shape of the API's 422 `detail` entries. */
export type ValidationIssue = { loc: (string | number)[]; msg: string; type: string; value?: unknown };

/** A value as an error message shows it. */
function show(value: unknown): string {
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 80);
  } catch {
    return String(value).slice(0, 80); // a cycle: its string form will do
  }
}

/** Input that failed validation; `issues` says what and where. */
export class ValidationError extends MailroomError<'validation_error'> {
  readonly issues: ValidationIssue[];
  constructor(message: string, issues: ValidationIssue[], options?: { cause?: unknown }) {
    super('validation_error', message, options);
    this.issues = issues;
  }

  /** Builds a ValidationError from a zod error, keeping it as `cause`. */
  /**
   * The issues of a zod error. Given the `input` that failed, the message names the option, the
   * value it had and the rule: `invalid agent options: stopTimeoutMs = -5 (Too small: …)`.
   */
  static fromZod(what: string, error: z.ZodError, input?: unknown): ValidationError {
    const issues = error.issues.map((issue) => ({
      loc: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
      msg: issue.message,
      type: issue.code,
    }));
    const first = issues[0];
    const where = first && first.loc.length > 0 ? first.loc.join('.') : '';
    if (input !== undefined && first) {
      const value = first.loc.reduce<unknown>(
        (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined),
        input,
      );
      return new ValidationError(
        `invalid ${what}: ${where || '(value)'} = ${show(value)} (${first.msg})`,
        issues.map((i) => (i === first ? { ...i, value } : i)),
        { cause: error },
      );
    }
    return new ValidationError(
      `invalid ${what}${where ? ` at ${where}` : ''}: ${first?.msg ?? 'invalid input'}`,
      issues,
      {
        cause: error,
      },
    );
  }

  /** A ValidationError with one issue. */
  static single(loc: (string | number)[], msg: string, type = 'value_error'): ValidationError {
    return new ValidationError(`${loc.join('.')}: ${msg}`, [{ loc, msg, type }]);
  }
}

/**
 * Thrown by a handler to fail a task at once, without redelivery: it goes out as `ERROR:` with
 * `type` and the message. Any other thrown error is retried up to the agent's `maxAttempts`.
 */
export class TaskFailedError extends MailroomError<'task_failed'> {
  readonly type: string;
  constructor(type: string, message: string, options?: { cause?: unknown }) {
    super('task_failed', message, options);
    this.type = type;
  }
}

/** A task was canceled before it answered (its requester's `ask` rejects with this). */
export class TaskCanceledError extends MailroomError<'task_canceled'> {
  readonly taskId: string;
  constructor(taskId: string, message: string) {
    super('task_canceled', message);
    this.taskId = taskId;
  }
}

/** A transport or server failure talking to a mailbox. */
export class MailboxError extends MailroomError<'mailbox_error'> {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('mailbox_error', message, options);
    this.status = status;
  }
}

/** A bounded queue is full. */
export class QueueFullError extends MailroomError<'queue_full'> {
  constructor(message: string) {
    super('queue_full', message);
  }
}

/** A send that waited (for quota, stagger or a pause) was taken back by its signal: nothing was sent. */
export class WithdrawnError extends MailroomError<'withdrawn'> {
  constructor(message: string) {
    super('withdrawn', message);
  }
}

/** The runtime or component was stopped. */
export class StoppedError extends MailroomError<'stopped'> {
  constructor(message: string) {
    super('stopped', message);
  }
}

/** A conflicting request (for example an agent id that is taken). */
export class ConflictError extends MailroomError<'conflict'> {
  constructor(message: string) {
    super('conflict', message);
  }
}
