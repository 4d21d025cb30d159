import { type LimitType, RateLimitedError } from '../../errors.js';
import type { Account } from '../../wire/model.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** An account's hourly and daily send limits. */
export type QuotaLimits = { hourly: number; daily: number };

/** Sends counted in the current windows; a window that has passed counts as zero. */
export type QuotaUsage = { hourWindow: number; hourUsed: number; dayWindow: number; dayUsed: number };

export const emptyUsage = (): QuotaUsage => ({ hourWindow: -1, hourUsed: 0, dayWindow: -1, dayUsed: 0 });

/** The usage as it stands at `now`: windows at the top of the UTC hour and at 00:00 UTC. */
export function currentUsage(usage: QuotaUsage, now: number): { hourly: number; daily: number } {
  return {
    hourly: usage.hourWindow === Math.floor(now / HOUR_MS) ? usage.hourUsed : 0,
    daily: usage.dayWindow === Math.floor(now / DAY_MS) ? usage.dayUsed : 0,
  };
}

/** The `rate_limits` of an Account at `now`. */
export function rateLimits(usage: QuotaUsage, limits: QuotaLimits, now: number): Account['rate_limits'] {
  const used = currentUsage(usage, now);
  return {
    hourly: { used: used.hourly, limit: limits.hourly, remaining: Math.max(0, limits.hourly - used.hourly) },
    daily: { used: used.daily, limit: limits.daily, remaining: Math.max(0, limits.daily - used.daily) },
  };
}

/** Throws `RateLimitedError` (with `retryAfterMs` and the 429 details) when one more send would go over. */
export function assertQuota(usage: QuotaUsage, limits: QuotaLimits, now: number): void {
  const used = currentUsage(usage, now);
  const overDaily = used.daily >= limits.daily;
  const overHourly = used.hourly >= limits.hourly;
  if (!overDaily && !overHourly) return;
  const hourEnd = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  const dayEnd = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  const limitType: LimitType = overDaily ? 'daily' : 'hourly';
  const retryAfterMs = (overDaily ? dayEnd : hourEnd) - now;
  throw new RateLimitedError(`${limitType} send quota exhausted`, retryAfterMs, {
    limit_type: limitType,
    hourly_used: used.hourly,
    hourly_limit: limits.hourly,
    hourly_resets_at: new Date(hourEnd).toISOString(),
    daily_used: used.daily,
    daily_limit: limits.daily,
  });
}

/** Counts one accepted send at `now`, in place. */
export function countSend(usage: QuotaUsage, now: number): void {
  const hour = Math.floor(now / HOUR_MS);
  const day = Math.floor(now / DAY_MS);
  if (usage.hourWindow !== hour) {
    usage.hourWindow = hour;
    usage.hourUsed = 0;
  }
  if (usage.dayWindow !== day) {
    usage.dayWindow = day;
    usage.dayUsed = 0;
  }
  usage.hourUsed += 1;
  usage.dayUsed += 1;
}
