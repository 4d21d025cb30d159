import { type Account, type SendResult, SendScheduler } from '@mailroom/core';
import { HOUR_MS } from '@mailroom/core/post-office';
import { VirtualTime } from '@mailroom/core/testing';
import Bottleneck from 'bottleneck';
import { type BenchResult, round } from './result.js';

const N = 100_000;
/** bottleneck with a reservoir takes a few hundred jobs a second here: a smaller run gives its rate. */
const N_BASELINE = 2_000;

const account = (hourlyLimit: number, hourlyUsed: number, dailyLimit: number, dailyUsed: number): Account => ({
  email_address: 'bench@agents.localhost',
  status: 'active',
  send_tier: 'active',
  reputation_score: 1,
  total_sent: 0,
  total_received: 0,
  total_bounced: 0,
  total_spam_complaints: 0,
  sending_frozen: false,
  frozen_reason: null,
  rate_limits: {
    hourly: { used: hourlyUsed, limit: hourlyLimit, remaining: hourlyLimit - hourlyUsed },
    daily: { used: dailyUsed, limit: dailyLimit, remaining: dailyLimit - dailyUsed },
  },
  created_at: '2026-01-01T00:00:00.000Z',
});
const ok = {} as SendResult;

/** Decisions per second: N sends through each, limits high enough that none waits. */
async function throughput(): Promise<{ mailroom: number; bottleneck: number; bottleneckNoQuota: number }> {
  const scheduler = new SendScheduler({
    maxQueue: N,
    mailbox: { send: async () => ok, account: async () => account(10 * N, 0, 10 * N, 0) },
  });
  const req = { to: ['x@agents.localhost'], subject: 's' };
  let t0 = performance.now();
  await Promise.all(Array.from({ length: N }, () => scheduler.send(req)));
  const mailroom = N / ((performance.now() - t0) / 1000);
  scheduler.stop();

  const limiter = new Bottleneck({
    reservoir: 10 * N,
    reservoirRefreshAmount: 10 * N,
    reservoirRefreshInterval: HOUR_MS,
    maxConcurrent: null,
    minTime: 0,
  });
  t0 = performance.now();
  await Promise.all(Array.from({ length: N_BASELINE }, () => limiter.schedule(async () => ok)));
  const bottleneck = N_BASELINE / ((performance.now() - t0) / 1000);
  await limiter.stop({ dropWaitingJobs: true });
  // The same without a reservoir (no quota at all), for scale.
  const plain = new Bottleneck({ maxConcurrent: null, minTime: 0 });
  t0 = performance.now();
  await Promise.all(Array.from({ length: N_BASELINE }, () => plain.schedule(async () => ok)));
  const bottleneckNoQuota = N_BASELINE / ((performance.now() - t0) / 1000);
  await plain.stop({ dropWaitingJobs: true });
  return { mailroom, bottleneck, bottleneckNoQuota };
}

/**
 * Sends over quota in a window, for each: an account with a quota of L per hour, 40 % of it used
 * already by another client this hour, asked for 3 L sends. Mailroom runs in virtual hours;
 * bottleneck (same limit as its reservoir, refreshed every "hour") in real time with a 200 ms hour.
 */
async function overQuota(): Promise<{ mailroom: number; bottleneck: number }> {
  const L = 50;
  const used = Math.round(0.4 * L);
  const countOver = (times: number[], windowMs: number, firstWindowUsed: number) => {
    const per = new Map<number, number>();
    for (const t of times) per.set(Math.floor(t / windowMs), (per.get(Math.floor(t / windowMs)) ?? 0) + 1);
    const first = Math.min(...per.keys());
    let over = 0;
    for (const [w, n] of per) over += Math.max(0, n + (w === first ? firstWindowUsed : 0) - L);
    return over;
  };

  const vt = new VirtualTime(Date.UTC(2026, 0, 1, 10, 20));
  const times: number[] = [];
  const scheduler = new SendScheduler({
    scheduler: vt.scheduler,
    mailbox: {
      send: async () => {
        times.push(vt.now());
        return ok;
      },
      account: async () => account(L, used, 100 * L, used),
    },
  });
  const all = Promise.all(
    Array.from({ length: 3 * L }, () => scheduler.send({ to: ['x@agents.localhost'], subject: 's' })),
  );
  await vt.advance(4 * HOUR_MS);
  await all;
  const mailroom = countOver(times, HOUR_MS, used);

  const W = 200;
  const bTimes: number[] = [];
  const limiter = new Bottleneck({
    reservoir: L,
    reservoirRefreshAmount: L,
    reservoirRefreshInterval: W,
    maxConcurrent: null,
    minTime: 0,
  });
  await Promise.all(Array.from({ length: 3 * L }, () => limiter.schedule(async () => bTimes.push(Date.now()))));
  await limiter.stop();
  return { mailroom, bottleneck: countOver(bTimes, W, used) };
}

export async function p5(): Promise<BenchResult> {
  const { mailroom, bottleneck, bottleneckNoQuota } = await throughput();
  const over = await overQuota();
  return {
    id: 'P5',
    name: `scheduling decisions per second: ${N} sends through SendScheduler vs bottleneck with the same limits`,
    value: Math.round(mailroom),
    unit: 'decisions/s',
    baseline: { name: 'bottleneck 2 (reservoir = the same limit, refreshed hourly)', value: Math.round(bottleneck) },
    bottleneckWithoutQuota: Math.round(bottleneckNoQuota),
    ratio: round(mailroom / bottleneck, 1),
    overQuota: over.mailroom,
    baselineOverQuota: over.bottleneck,
    target: 'ratio ≥ 100 and overQuota = 0',
  };
}
