import { APICallError, type LanguageModel, wrapLanguageModel } from 'ai';
import type { Logger } from 'pino';
import type { SchedulerLike } from 'rxjs';
import { z } from 'zod';

/** How a failed model call (429, 5xx, timeout) is tried again. */
export type ProviderRetry = {
  /** Calls in all, the first included. @default 4 */
  maxAttempts?: number;
  /** The first wait; each next one doubles, with jitter. @default 1000 */
  initialDelayMs?: number;
  /** The longest wait, a provider's retry-after included. @default 60000 */
  maxDelayMs?: number;
};

export const ProviderRetrySchema = z.object({
  maxAttempts: z.number().int().min(1).max(100).optional(),
  initialDelayMs: z.number().int().min(0).optional(),
  maxDelayMs: z.number().int().min(0).optional(),
});

/** What a provider asked to wait, from `retry-after-ms` or `retry-after` (seconds or a date). */
export function retryAfterMs(headers: Record<string, string> | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ms = Number(lower['retry-after-ms']);
  if (lower['retry-after-ms'] !== undefined && Number.isFinite(ms)) return Math.max(0, ms);
  const after = lower['retry-after'];
  if (after === undefined) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A fault worth another call: a retryable API error (429, 5xx, 408) or a timeout. */
const transient = (err: unknown): boolean =>
  (APICallError.isInstance(err) && err.isRetryable) || (err instanceof Error && err.name === 'TimeoutError');

/** Waits `ms` on the agent's scheduler (virtual in tests); rejects when `signal` aborts. */
function wait(scheduler: SchedulerLike, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      sub.unsubscribe();
      reject(signal?.reason);
    };
    const sub = scheduler.schedule(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The model with our own retry of each call (the SDK's own is turned off: it waits on real
 * timers): transient faults are called again after an exponential backoff with jitter, or after
 * the provider's retry-after when it gives one.
 */
export function retryingModel(
  model: Exclude<LanguageModel, string>,
  retry: ProviderRetry,
  scheduler: SchedulerLike,
  log: () => Logger,
): Exclude<LanguageModel, string> {
  const maxAttempts = retry.maxAttempts ?? 4;
  const initial = retry.initialDelayMs ?? 1000;
  const max = retry.maxDelayMs ?? 60_000;
  const withRetry = async <T>(call: () => PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (attempt >= maxAttempts || !transient(err) || signal?.aborted) throw err;
        const asked = APICallError.isInstance(err) ? retryAfterMs(err.responseHeaders, scheduler.now()) : undefined;
        const backoff = initial * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
        const delay = Math.min(max, asked ?? backoff);
        const status = APICallError.isInstance(err) ? err.statusCode : undefined;
        log().warn({ attempt, delay_ms: Math.round(delay), status }, 'model call failed; calling again');
        await wait(scheduler, delay, signal);
      }
    }
  };
  return wrapLanguageModel({
    model,
    middleware: {
      specificationVersion: 'v4',
      wrapGenerate: ({ doGenerate, params }) => withRetry(doGenerate, params.abortSignal),
      wrapStream: ({ doStream, params }) => withRetry(doStream, params.abortSignal),
    },
  });
}
