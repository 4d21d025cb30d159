import { Writable } from 'node:stream';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { QueueFullError, RateLimitedError, WithdrawnError } from '../errors.js';
import { LocalMailbox } from '../mailbox/local-mailbox.js';
import { DAY_MS, HOUR_MS } from '../post-office/kit/quota.js';
import { MemoryPostOffice } from '../post-office/memory/memory-post-office.js';
import { VirtualTime } from '../testing/index.js';
import { SendScheduler, type SendSchedulerOptions } from './send-scheduler.js';

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);

async function setup(
  limits: { hourly: number; daily: number },
  options: Partial<SendSchedulerOptions> = {},
  start = T0,
) {
  const vt = new VirtualTime(start);
  const po = new MemoryPostOffice({ clock: vt.scheduler, limits });
  const a = (await po.register({ agent_id: 'sender' })).email_address;
  const b = (await po.register({ agent_id: 'inbox' })).email_address;
  const local = new LocalMailbox(po, a);
  /** 429s the post office answered: a scheduler that keeps to the quota never causes one by itself. */
  const refused: RateLimitedError[] = [];
  const mailbox = {
    account: () => local.account(),
    send: (r: Parameters<LocalMailbox['send']>[0]) =>
      local.send(r).catch((e: unknown) => {
        if (e instanceof RateLimitedError) refused.push(e);
        throw e;
      }),
  };
  const scheduler = new SendScheduler({ mailbox, scheduler: vt.scheduler, ...options });
  const sentAt: number[] = [];
  const send = (subject: string, priority = 0, signal?: AbortSignal) =>
    scheduler.send({ to: [b], subject }, { priority, ...(signal ? { signal } : {}) }).then((r) => {
      sentAt.push(vt.now() - start);
      return r;
    });
  return { vt, po, a, b, scheduler, sentAt, send, refused };
}

describe('SendScheduler', () => {
  it('sends up to the hourly quota, queues the rest, and sends it at the top of the next UTC hour', async () => {
    const { vt, scheduler, sentAt, send } = await setup({ hourly: 12, daily: 100 }, {}, T0 + 30 * 60_000);
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => send(`m${i}`)));
    await vt.settle();
    expect(sentAt).toHaveLength(12);
    expect(scheduler.queued()).toBe(8);
    expect(scheduler.remaining()).toEqual({ hourly: 0, daily: 88 });
    await vt.advance(30 * 60_000 - 1);
    expect(sentAt).toHaveLength(12);
    await vt.advance(1);
    await all;
    expect(sentAt.slice(12)).toEqual(Array(8).fill(30 * 60_000));
  });

  it('says in words what the queue waits for: the next quota window, when, and how long from now', async () => {
    const lines: { level: number; msg: string; queued: number; waitingUntil: string }[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = pino({ level: 'info' }, stream);
    const start = Date.UTC(2026, 0, 1, 20, 29, 0);
    const { vt, scheduler, send } = await setup({ hourly: 2, daily: 100 }, { logger }, start);
    const states: (number | null)[] = [];
    scheduler.state$.subscribe((s) => states.push(s.waitingUntil));
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => send(`w${i}`)));
    await vt.settle();
    const nine = Date.UTC(2026, 0, 1, 21, 0, 0);
    expect(scheduler.queued()).toBe(3);
    expect(states.at(-1)).toBe(nine);
    // One line for the wait, however often the scheduler looks again while it lasts.
    await vt.advance(10 * 60_000);
    expect(lines.map((l) => l.msg)).toEqual(['3 sends wait: the next quota window opens at 21:00 UTC, in 31 min']);
    expect(lines[0]).toMatchObject({ level: 30, queued: 3, waitingUntil: '2026-01-01T21:00:00.000Z' });
    // At 21:00 two go out and the last one waits for 22:00: a new wait, a new line.
    await vt.advance(21 * 60_000);
    expect(lines.map((l) => l.msg).at(-1)).toBe('1 send waits: the next quota window opens at 22:00 UTC, in 1 h');
    await vt.advance(HOUR_MS);
    await all;
    expect(states.at(-1)).toBeNull();
  });

  it('holds to the daily quota until 00:00 UTC', async () => {
    const { vt, sentAt, send } = await setup({ hourly: 100, daily: 3 }, {}, Date.UTC(2026, 0, 1, 22, 0, 0));
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => send(`d${i}`)));
    await vt.advance(HOUR_MS);
    expect(sentAt).toHaveLength(3);
    await vt.advance(HOUR_MS);
    await all;
    expect(sentAt.slice(3)).toEqual([2 * HOUR_MS, 2 * HOUR_MS]);
  });

  it('staggers in bursts with pauses', async () => {
    const { vt, sentAt, send } = await setup({ hourly: 100, daily: 100 }, { stagger: { burst: 5, pauseMs: 1000 } });
    const all = Promise.all(Array.from({ length: 12 }, (_, i) => send(`s${i}`)));
    await vt.advance(5000);
    await all;
    expect(sentAt).toEqual([0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000]);
  });

  it('spaces sends evenly', async () => {
    const { vt, sentAt, send } = await setup({ hourly: 100, daily: 100 }, { stagger: { spacingMs: 250 } });
    const all = Promise.all(Array.from({ length: 4 }, (_, i) => send(`e${i}`)));
    await vt.advance(5000);
    await all;
    expect(sentAt).toEqual([0, 250, 500, 750]);
  });

  it('sends higher priorities first when sends wait', async () => {
    const { vt, po, b, send } = await setup({ hourly: 1, daily: 100 });
    await send('first');
    const all = Promise.all([send('low', 0), send('high', 5), send('mid', 2)]);
    await vt.advance(4 * HOUR_MS);
    await all;
    const subjects = (await po.inbox(b)).messages.map((m) => m.subject);
    expect(subjects).toEqual(['first', 'high', 'mid', 'low']);
  });

  it('refuses a send with QueueFullError when the queue is full, and drops nothing it took', async () => {
    const { vt, scheduler, send } = await setup({ hourly: 1, daily: 100 }, { maxQueue: 2 });
    await send('a');
    const taken = [send('b'), send('c')];
    await vt.settle();
    await expect(send('d')).rejects.toBeInstanceOf(QueueFullError);
    expect(scheduler.queued()).toBe(2);
    await vt.advance(2 * HOUR_MS);
    await expect(Promise.all(taken)).resolves.toHaveLength(2);
  });

  it('pauses the account on 429 until Retry-After, and then sends', async () => {
    const { vt, po, a, b, scheduler, sentAt, send, refused } = await setup(
      { hourly: 3, daily: 100 },
      {},
      T0 + 59 * 60_000,
    );
    await send('warm-up'); // the scheduler has read the account: 2 left as far as it knows
    // Another client of the same account uses the rest behind its back.
    await po.send(a, { to: [b], subject: 'elsewhere 1' });
    await po.send(a, { to: [b], subject: 'elsewhere 2' });
    const states: (number | null)[] = [];
    const sub = scheduler.state$.subscribe((s) => states.push(s.pausedUntil));
    const late = send('after the pause');
    await vt.settle();
    expect(sentAt).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(states).toContain(T0 + HOUR_MS);
    await vt.advance(60_000);
    await late;
    expect(sentAt[1]).toBe(60_000);
    sub.unsubscribe();
  });

  it('withdraws a waiting send when its signal aborts: it rejects, is never sent, and frees its place', async () => {
    const { vt, po, b, scheduler, send } = await setup({ hourly: 1, daily: 100 });
    await send('sent now');
    const withdraw = new AbortController();
    const taken = send('taken back', 0, withdraw.signal);
    const kept = send('kept');
    await vt.settle();
    expect(scheduler.queued()).toBe(2);
    withdraw.abort();
    await expect(taken).rejects.toBeInstanceOf(WithdrawnError);
    expect(scheduler.queued()).toBe(1);
    await vt.advance(HOUR_MS);
    await kept;
    await vt.advance(2 * HOUR_MS);
    const subjects = (await po.inbox(b)).messages.map((m) => m.subject);
    expect(subjects).toEqual(['sent now', 'kept']);
    await expect(send('late', 0, withdraw.signal)).rejects.toBeInstanceOf(WithdrawnError);
  });

  it('does not withdraw a send that already went out, and withdraws one that a 429 put back', async () => {
    const { vt, po, a, b, scheduler, send, refused } = await setup({ hourly: 2, daily: 100 }, {}, T0 + 59 * 60_000);
    const signal = new AbortController();
    const out = await send('out', 0, signal.signal);
    signal.abort(); // too late: it was sent
    expect(out.message_id).toBeTruthy();
    await po.send(a, { to: [b], subject: 'elsewhere' }); // the rest of the hour, behind its back
    const back = new AbortController();
    const retried = send('refused, then waits for Retry-After', 0, back.signal);
    await vt.settle();
    expect(refused).toHaveLength(1);
    expect(scheduler.queued()).toBe(1);
    back.abort();
    await expect(retried).rejects.toBeInstanceOf(WithdrawnError);
    await vt.advance(2 * HOUR_MS);
    expect((await po.inbox(b)).messages.map((m) => m.subject)).toEqual(['out', 'elsewhere']);
  });

  it('reads the limits again periodically', async () => {
    const { vt, po, a, scheduler, send } = await setup({ hourly: 10, daily: 100 }, { refreshMs: 60_000 });
    await send('one');
    expect(scheduler.remaining().hourly).toBe(9);
    po.setLimits(a, { hourly: 50 });
    await vt.advance(60_000);
    await send('two');
    expect(scheduler.remaining().hourly).toBe(48);
  });

  it('never sends more than the quota in any window (property, virtual time)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          hourly: fc.integer({ min: 1, max: 8 }),
          daily: fc.integer({ min: 1, max: 20 }),
          startMinute: fc.integer({ min: 0, max: 24 * 60 - 1 }),
          stagger: fc.option(
            fc.record({ burst: fc.integer({ min: 1, max: 4 }), pauseMs: fc.integer({ min: 1, max: 600_000 }) }),
            {
              nil: undefined,
            },
          ),
          arrivals: fc.array(
            fc.record({ atMin: fc.integer({ min: 0, max: 180 }), count: fc.integer({ min: 1, max: 5 }) }),
            {
              minLength: 1,
              maxLength: 8,
            },
          ),
        }),
        async ({ hourly, daily, startMinute, stagger, arrivals }) => {
          const start = Date.UTC(2026, 0, 1) + startMinute * 60_000;
          const { vt, po, a, send, refused } = await setup({ hourly, daily }, stagger ? { stagger } : {}, start);
          const errors: unknown[] = [];
          const all: Promise<unknown>[] = [];
          const sorted = [...arrivals].sort((x, y) => x.atMin - y.atMin);
          let now = 0;
          for (const { atMin, count } of sorted) {
            await vt.advance(atMin * 60_000 - now);
            now = atMin * 60_000;
            for (let i = 0; i < count; i++) all.push(send(`x${i}`).catch((e: unknown) => errors.push(e)));
          }
          const total = all.length;
          // Long enough for every send to fit in the quotas.
          await vt.advance((Math.ceil(total / Math.min(daily, hourly * 24)) + 2) * DAY_MS);
          await Promise.all(all);
          expect(errors).toEqual([]);
          expect(refused).toEqual([]);
          const times = (await po.sent(a, { limit: 100 })).messages.map((m) => Date.parse(m.created_at));
          expect(times).toHaveLength(total);
          const per = (size: number) => {
            const counts = new Map<number, number>();
            for (const t of times) counts.set(Math.floor(t / size), (counts.get(Math.floor(t / size)) ?? 0) + 1);
            return Math.max(...counts.values());
          };
          expect(per(HOUR_MS)).toBeLessThanOrEqual(hourly);
          expect(per(DAY_MS)).toBeLessThanOrEqual(daily);
        },
      ),
      { numRuns: Number(process.env.RUNS ?? 25) },
    );
  });
});
