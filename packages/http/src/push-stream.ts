import { MailboxError, MailroomError, RateLimitedError } from '@mailroom/core';
import { InboxPage, type PushQuery } from '@mailroom/core/post-office';
import type { Logger } from 'pino';
import { Observable } from 'rxjs';
import type { AnswerHeaders } from './fast-post.js';
import { errorOfAnswer, networkReason, safeCause } from './http-errors.js';
import { readEvents } from './sse.js';
import { getWithFetch, getWithHttp, type StreamAnswer } from './stream-request.js';

/** What the push stream of an `HttpMailbox` needs to know. */
export type PushConnection = {
  baseUrl: string;
  apiKey: string;
  /** The fetch a caller injected; without one the stream is read on `node:http`. */
  fetch: typeof fetch | undefined;
  /** Time to get the answer's headers, in ms. */
  timeoutMs: number;
  /** A stream that brings no byte (not even a keep-alive) for this long is dropped and reopened. */
  idleTimeoutMs: number;
  /** First reconnect delay; doubles per failure in a row, up to `maxRetryMs`. */
  minRetryMs: number;
  maxRetryMs: number;
  logger: Logger | undefined;
  /** Called with every answer's headers (the extensions a server announces). */
  onHeaders: (headers: AnswerHeaders) => void;
};

/** Whether reconnecting may help: a network failure, a 5xx, a 429 — not a refusal (401, 404, 422, a redirect). */
function retryable(err: unknown): boolean {
  if (err instanceof MailboxError) return err.status === undefined || err.status === 200 || err.status >= 408;
  return err instanceof RateLimitedError || !(err instanceof MailroomError);
}

/**
 * `GET /email/inbox/stream` as an Observable of pages. On a dropped connection, a server closing,
 * a 5xx or a silent stream it reconnects (with backoff and jitter) from the last page it delivered
 * (`Last-Event-ID`): nothing is lost and nothing comes twice. Errors only when reconnecting cannot
 * help (`NotFoundError` where push is not offered, `AuthError`, `ValidationError`).
 */
export function pushStream(c: PushConnection, query: PushQuery): Observable<InboxPage> {
  return new Observable<InboxPage>((subscriber) => {
    const stop = new AbortController();
    const { cursor: start, ...filters } = query;
    let lastId = start;
    (async () => {
      let failures = 0;
      while (!stop.signal.aborted) {
        let delivered = false;
        try {
          await connectOnce(c, filters, lastId, stop.signal, (page) => {
            lastId = page.cursor ?? lastId;
            delivered = true;
            if (c.logger?.isLevelEnabled('debug')) {
              c.logger.debug(
                { path: '/email/inbox/stream', messages: page.messages.length, unread_count: page.unread_count },
                'inbox pushed',
              );
            }
            subscriber.next(page);
          });
          if (stop.signal.aborted) return;
          c.logger?.debug({ path: '/email/inbox/stream' }, 'inbox stream ended by the server; reconnecting');
        } catch (err) {
          if (stop.signal.aborted) return;
          if (!retryable(err)) throw err;
          c.logger?.warn({ err, failures, path: '/email/inbox/stream' }, 'inbox stream dropped; reconnecting');
        }
        failures = delivered ? 1 : failures + 1;
        const base = Math.min(c.maxRetryMs, c.minRetryMs * 2 ** (failures - 1));
        await pause(base * (0.8 + Math.random() * 0.4), stop.signal);
      }
    })().then(
      () => subscriber.complete(),
      (err: unknown) => subscriber.error(err),
    );
    return () => stop.abort();
  });
}

/** One connection: resolves when the server ends the stream, rejects on a failure. */
async function connectOnce(
  c: PushConnection,
  filters: Omit<PushQuery, 'cursor'>,
  lastId: string | undefined,
  stop: AbortSignal,
  deliver: (page: InboxPage) => void,
): Promise<void> {
  const url = new URL('email/inbox/stream', c.baseUrl.endsWith('/') ? c.baseUrl : `${c.baseUrl}/`);
  for (const [k, v] of Object.entries(filters)) if (v !== undefined) url.searchParams.set(k, String(v));
  const attempt = new AbortController();
  const abort = () => attempt.abort(stop.reason);
  stop.addEventListener('abort', abort);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      attempt.abort();
    }, ms);
  };
  try {
    arm(c.timeoutMs);
    let response: StreamAnswer;
    const headers = {
      'x-api-key': c.apiKey,
      accept: 'text/event-stream',
      ...(lastId !== undefined ? { 'last-event-id': lastId } : {}),
    };
    try {
      response = await (c.fetch
        ? getWithFetch(c.fetch, url, headers, attempt.signal)
        : getWithHttp(url, headers, attempt.signal));
    } catch (err) {
      const where = `GET ${url.origin}${url.pathname}`;
      throw new MailboxError(`inbox stream: ${where}: ${timedOut ? 'timed out' : networkReason(err)}`, undefined, {
        cause: safeCause(err),
      });
    }
    c.onHeaders(response.headers);
    if (response.status !== 200) {
      // An error answer without a JSON body is still an error of its status (errorOfAnswer reads the
      // status); the body that was not JSON is said at debug, and the error is thrown below either way.
      const data: unknown = await response.json().catch((err: unknown) => {
        c.logger?.debug({ err, status: response.status }, 'inbox stream: an error answer without a JSON body');
        return undefined;
      });
      throw errorOfAnswer(response.status, data, response.headers, new Error(`HTTP ${response.status}`));
    }
    if (!response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      await response.cancel();
      throw new MailboxError('inbox stream: the answer is not an event stream', 200);
    }
    arm(c.idleTimeoutMs);
    try {
      for await (const event of readEvents(response.body, () => arm(c.idleTimeoutMs))) {
        if (event.event !== 'inbox') continue;
        const page = InboxPage.safeParse(JSON.parse(event.data));
        if (!page.success) throw new MailboxError('inbox stream: invalid page from the server', 200);
        deliver(page.data);
      }
    } catch (err) {
      if (stop.aborted || err instanceof MailroomError) throw err;
      throw new MailboxError(`inbox stream: ${timedOut ? 'no data in time' : networkReason(err)}`, undefined, {
        cause: safeCause(err),
      });
    }
  } finally {
    clearTimeout(timer);
    stop.removeEventListener('abort', abort);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
