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

/** Milliseconds until one more send fits the windows at `now` (0: it fits now). */
export function quotaWaitMs(usage: QuotaUsage, limits: QuotaLimits, now: number): number {
  // Field by field, as `countSend`: every send of the embedded post office asks.
  const day = Math.floor(now / DAY_MS);
  if ((usage.dayWindow === day ? usage.dayUsed : 0) >= limits.daily) return (day + 1) * DAY_MS - now;
  const hour = Math.floor(now / HOUR_MS);
  if ((usage.hourWindow === hour ? usage.hourUsed : 0) >= limits.hourly) return (hour + 1) * HOUR_MS - now;
  return 0;
}

/** Throws `RateLimitedError` (with `retryAfterMs` and the 429 details) when one more send would go over. */
export function assertQuota(usage: QuotaUsage, limits: QuotaLimits, now: number): void {
  const retryAfterMs = quotaWaitMs(usage, limits, now);
  if (retryAfterMs === 0) return;
  const used = currentUsage(usage, now);
  const limitType: LimitType = used.daily >= limits.daily ? 'daily' : 'hourly';
  const hourEnd = (Math.floor(now / HOUR_MS) + 1) * HOUR_MS;
  throw new RateLimitedError(`${limitType} send quota exhausted`, retryAfterMs, {
    limit_type: limitType,
    hourly_used: used.hourly,
    hourly_limit: limits.hourly,
    hourly_resets_at: new Date(hourEnd).toISOString(),
    daily_used: used.daily,
    daily_limit: limits.daily,
  });
}

/** The usage at `now` with these counts in the current windows. */
export const usageAt = (now: number, hourUsed: number, dayUsed: number): QuotaUsage => ({
  hourWindow: Math.floor(now / HOUR_MS),
  hourUsed,
  dayWindow: Math.floor(now / DAY_MS),
  dayUsed,
});

/** Counts `n` sends at `now` (a negative `n` gives tokens back), in place; past windows start at zero. */
export function countSend(usage: QuotaUsage, now: number, n = 1): void {
  // Field by field (no objects made): the embedded post office counts every send.
  const hour = Math.floor(now / HOUR_MS);
  const day = Math.floor(now / DAY_MS);
  usage.hourUsed = Math.max(0, (usage.hourWindow === hour ? usage.hourUsed : 0) + n);
  usage.hourWindow = hour;
  usage.dayUsed = Math.max(0, (usage.dayWindow === day ? usage.dayUsed : 0) + n);
  usage.dayWindow = day;
}

/**
 * Send admission: one more send at `now` goes over the quota (`RateLimitedError`), or is counted.
 * The check and the count are one step, so a store that runs it inside its write can never go over.
 */
export function admitSend(usage: QuotaUsage, limits: QuotaLimits, now: number): void {
  assertQuota(usage, limits, now);
  countSend(usage, now);
}
