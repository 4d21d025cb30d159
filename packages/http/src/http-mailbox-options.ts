import { ValidationError } from '@mailroom/core';
import type { Logger } from 'pino';
import { z } from 'zod';

/** Options of {@link HttpMailbox}. */
export type HttpMailboxOptions = {
  /** The server: `https://api.moltbotden.com`, or `http://127.0.0.1:8025` for `mailroom-server`. */
  baseUrl: string;
  /** The agent's API key (sent as `X-API-Key`; never logged). */
  apiKey: string;
  /** Per-attempt timeout of a request, in ms (a long poll adds its `wait`). @default 10000 */
  timeoutMs?: number;
  /**
   * Retries of a call that is safe to repeat: every GET, a send (each carries an idempotency key),
   * mark read / unread (set-to), delete (set-to; a retried delete that finds the message gone
   * counts as done). A star toggles, so it is never retried. @default 3
   * A timed-out attempt of any of these is retried too, within `totalTimeoutMs`.
   */
  retries?: number;
  /**
   * The deadline of one call, all its attempts and backoffs together, in ms (a long poll adds its
   * `wait`): past it the call fails with `MailboxError`. @default 60000
   */
  totalTimeoutMs?: number;
  /** A 429 whose `Retry-After` is longer than this is not waited out: `RateLimitedError` is thrown. @default 30000 */
  maxRetryAfterMs?: number;
  /** Use the long-poll extension when the server offers it. @default true */
  longPoll?: boolean;
  /**
   * One consumer of a worker pool on this address: claim mail through the lease extension when the
   * server offers it, so that each consumer of the pool gets different messages. @default false
   */
  leases?: boolean;
  /** Take inbox mail from the server's push stream (`GET /email/inbox/stream`) when it offers one. @default true */
  push?: boolean;
  /**
   * A push stream that brings no byte for this long (the server sends a keep-alive every 15 s) is
   * dropped and reopened from its last page. @default 45000
   */
  pushIdleTimeoutMs?: number;
  /**
   * Send concurrent sends as one batch request (`POST /email/send/batch`) when the server offers
   * it; at most this many send requests are on their way at once, the sends called meanwhile wait
   * and go out together. `0` sends every message alone. @default 8
   */
  sendBatching?: number;
  /**
   * Where retries are logged (method, path, attempt, status and body size: never a body or a key);
   * at debug also every inbox poll, send (addresses and ids, never a subject) and 4xx answer, with why.
   */
  logger?: Logger;
  /**
   * The fetch to use for every call. Without one, calls go through ky on `globalThis.fetch`,
   * except the push stream and the first attempt of a send, batch send or read mark, which go
   * on `node:http` (`node:https`) with a keep-alive agent: a tenth of the CPU time per request.
   * @default globalThis.fetch (and node:http where it says so above)
   */
  fetch?: typeof fetch;
};

const ms = z.number().int().positive().max(2_147_483_647);
/** The options as they are checked at construction (unknown fields pass). */
export const Options = z
  .object({
    baseUrl: z
      .string()
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'an http:// or https:// URL'),
    apiKey: z.string().min(1),
    timeoutMs: ms.optional(),
    totalTimeoutMs: ms.optional(),
    retries: z.number().int().min(0).max(100).optional(),
    maxRetryAfterMs: z.number().int().nonnegative().optional(),
    longPoll: z.boolean().optional(),
    push: z.boolean().optional(),
    pushIdleTimeoutMs: ms.optional(),
    sendBatching: z.number().int().min(0).max(64).optional(),
  })
  .loose();

/**
 * A missing, empty or padded key is refused at construction, naming where a key comes from:
 * otherwise the first call would fail with a 401 that says nothing about why.
 */
export function checkApiKey(apiKey: unknown): void {
  const where =
    "the agent's API key: `mailroom-server register <id>` prints one (POST /agents/register answers it once), and `mailroom-server rotate-key <id>` replaces a lost one";
  if (typeof apiKey !== 'string' || apiKey === '') {
    const got = apiKey === '' ? 'an empty string' : String(apiKey);
    throw new ValidationError(`HttpMailbox needs an apiKey (got ${got}): ${where}`, [
      { loc: ['apiKey'], msg: 'required: a non-empty string', type: 'missing' },
    ]);
  }
  if (apiKey.trim() !== apiKey || /\s/.test(apiKey)) {
    throw new ValidationError(
      'HttpMailbox apiKey has white space in it (a newline read from a key file?): trim it; API keys have none',
      [{ loc: ['apiKey'], msg: 'white space in the key', type: 'value_error' }],
    );
  }
}
