import { z } from 'zod';

/** How a failed handler run is retried (see `AgentOptions.retry`). */
export type RetryPolicy = {
  /** Wait before the second run. @default 1000 */
  initialDelayMs?: number;
  /** Each further wait is this many times the last. @default 2 */
  factor?: number;
  /** Longest wait (a `retryAfterMs` on the error is honoured even when longer). @default 60000 */
  maxDelayMs?: number;
  /** Spread of each wait, as a fraction: a wait of d becomes d × (1 ± jitter). @default 0.2 */
  jitter?: number;
  /** Random source of the jitter. @default Math.random */
  random?: () => number;
};

export const RetryPolicySchema = z
  .object({
    initialDelayMs: z.number().min(0).optional(),
    factor: z.number().min(1).optional(),
    maxDelayMs: z.number().min(0).optional(),
    jitter: z.number().min(0).max(1).optional(),
    random: z.function().optional(),
  })
  .strict();

/** The wait an error asks for: a numeric `retryAfterMs` on it or on its `cause` (a provider's 429). */
export function retryAfterOf(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const after = (e as { retryAfterMs?: unknown }).retryAfterMs;
    if (typeof after === 'number' && Number.isFinite(after) && after >= 0) return after;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * How long to wait before run `attempt + 1` after run `attempt` failed with `error`: the error's
 * own `retryAfterMs` when it has one, else an exponential backoff with jitter. Pure.
 */
export function retryDelay(attempt: number, error: unknown, policy: RetryPolicy = {}): number {
  const after = retryAfterOf(error);
  if (after !== undefined) return after;
  const initial = policy.initialDelayMs ?? 1000;
  const max = Math.max(initial, policy.maxDelayMs ?? 60_000);
  const jitter = policy.jitter ?? 0.2;
  const base = Math.min(max, initial * (policy.factor ?? 2) ** Math.max(0, attempt - 1));
  const random = policy.random ?? Math.random;
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}
