import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { defer, map, type Observable, type SchedulerLike, Subject, type Subscription, startWith } from 'rxjs';
import { z } from 'zod';
import { QueueFullError, RateLimitedError, StoppedError, WithdrawnError } from '../errors.js';
import type { Mailbox } from '../mailbox/mailbox.js';
import {
  countSend,
  currentUsage,
  emptyUsage,
  type QuotaUsage,
  quotaWaitMs,
  usageAt,
} from '../post-office/kit/quota.js';
import { Fifo } from '../time/fifo.js';
import { whenInWords } from '../time/in-words.js';
import { immediateScheduler } from '../time/scheduling.js';
import type { SendRequest, SendResult } from '../wire/model.js';
import { checkOptions } from '../wire/parse.js';

/** How sends are spread out: bursts with pauses, or even spacing. */
export type StaggerPolicy = { burst: number; pauseMs: number } | { spacingMs: number };

const Options = z
  .object({
    mailbox: z.object({ send: z.function(), account: z.function() }).loose(),
    stagger: z
      .union([
        z.object({ burst: z.number().int().positive(), pauseMs: z.number().nonnegative() }).strict(),
        z.object({ spacingMs: z.number().nonnegative() }).strict(),
      ])
      .optional(),
    maxQueue: z.number().int().nonnegative().optional(),
    refreshMs: z.number().int().positive().optional(),
  })
  .loose();

/** Options of {@link SendScheduler}. */
export type SendSchedulerOptions = {
  /** The account's mailbox: every send goes through it, limits come from its `account()`. */
  mailbox: Pick<Mailbox, 'send' | 'account'>;
  /** Spread sends out. @default none: as fast as the quota allows */
  stagger?: StaggerPolicy;
  /** Sends that may wait for quota; one more is refused with `QueueFullError`. @default 10000 */
  maxQueue?: number;
  /** How often the limits are read again from `account()`. @default 300000 (5 min) */
  refreshMs?: number;
  /** Time source. @default setImmediate/setTimeout */
  scheduler?: SchedulerLike;
  logger?: Logger;
};

/** What the scheduler knows, as `state$` emits it. */
export type SendSchedulerState = {
  remaining: { hourly: number; daily: number };
  limits: { hourly: number; daily: number };
  queued: number;
  inFlight: number;
  /** Until when a `429` paused the account (ms since epoch), or null. */
  pausedUntil: number | null;
  /**
   * When the queued sends wait for quota — the next hourly or daily window, or the end of a `429`
   * pause — the instant the first of them may go out (ms since epoch); null when none waits for it.
   */
  waitingUntil: number | null;
  sent: number;
};

/** Signals whose listener limit was lifted (each waiting send listens once). */
const widened = new WeakSet<AbortSignal>();

/** A handle on one waiting send: `withdraw` is set while it waits (see `send`). */
export type SendTicket = { withdraw?: (() => boolean) | undefined };

/** Options of one {@link SendScheduler.send}. */
export type ScheduledSendOptions = { priority?: number; signal?: AbortSignal; ticket?: SendTicket };

type Job = {
  request: SendRequest;
  priority: number;
  seq: number;
  resolve: (r: SendResult) => void;
  reject: (e: unknown) => void;
  /** Taken back by its signal before it went out: skipped by `take`. */
  withdrawn?: boolean;
  /** On its way to the mailbox: its signal no longer withdraws it. */
  out?: boolean;
  /** Removes the signal's listener once the job settled. */
  release?: () => void;
};

/**
 * Every send of one account, within its hourly and daily quotas (windows at the top of the UTC
 * hour and at 00:00 UTC, counted as the server counts them), staggered, by priority. What exceeds
 * the quota waits in a bounded queue, never dropped; a `429 Retry-After` pauses the account.
 */
export class SendScheduler {
  private readonly mailbox: SendSchedulerOptions['mailbox'];
  private readonly scheduler: SchedulerLike;
  private readonly maxQueue: number;
  private readonly refreshMs: number;
  private readonly stagger: StaggerPolicy | undefined;
  private readonly logger: Logger | undefined;
  /** Waiting jobs by priority (highest first), FIFO within a priority. */
  private readonly queues = new Map<number, Fifo<Job>>();
  private priorities: number[] = [];
  private size = 0;
  private seq = 0;
  private limits = { hourly: 0, daily: 0 };
  private usage: QuotaUsage = emptyUsage();
  private inFlight = 0;
  private sent = 0;
  private pausedUntil = 0;
  /** The instant the queue waits for quota until (0: it does not); logged once per wait. */
  private waitingUntil = 0;
  /** The account's limits were read at least once (before that, the quota is not known to be 0). */
  private limitsRead = false;
  private burstCount = 0;
  private nextSlot = 0;
  private loaded: Promise<void> | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private timer: Subscription | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private loading = false;
  private readonly changes = new Subject<void>();

  /** The scheduler's state now, then after every change; completes on `stop()`. */
  readonly state$: Observable<SendSchedulerState> = defer(() =>
    this.changes.pipe(
      startWith(undefined),
      map(() => this.snapshot()),
    ),
  );

  constructor(options: SendSchedulerOptions) {
    checkOptions('SendScheduler options', Options, options);
    this.mailbox = options.mailbox;
    this.scheduler = options.scheduler ?? immediateScheduler;
    this.maxQueue = options.maxQueue ?? 10_000;
    this.refreshMs = options.refreshMs ?? 300_000;
    this.stagger = options.stagger;
    this.logger = options.logger;
  }

  /**
   * Sends when quota, stagger and any pause allow; resolves with the result then. Rejects at once
   * with `QueueFullError` when the queue is full.
   * @param options.priority higher goes first. @default 0
   * @param options.signal withdraws the send while it still waits (rejects with `WithdrawnError`;
   *   nothing is sent). A send already on its way is not called back.
   * @param options.ticket the same without an AbortSignal (cheaper, one per send): the scheduler
   *   sets `ticket.withdraw`, which withdraws the send and returns true while it still waits.
   */
  send(request: SendRequest, options: ScheduledSendOptions = {}): Promise<SendResult> {
    if (this.stopped) return Promise.reject(new StoppedError('the send scheduler is stopped'));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new WithdrawnError('the send was withdrawn before it went out'));
    if (this.size >= this.maxQueue) {
      return Promise.reject(new QueueFullError(`send queue full (${this.maxQueue} waiting); nothing was sent`));
    }
    return new Promise<SendResult>((resolve, reject) => {
      const priority = options.priority ?? 0;
      let queue = this.queues.get(priority);
      if (!queue) {
        queue = new Fifo();
        this.queues.set(priority, queue);
        this.priorities = [...this.queues.keys()].sort((a, b) => b - a);
      }
      const job: Job = { request, priority, seq: this.seq++, resolve, reject };
      const { ticket } = options;
      if (signal || ticket) {
        const withdraw = (): boolean => {
          if (job.out || job.withdrawn) return false;
          job.withdrawn = true;
          this.size -= 1;
          reject(new WithdrawnError('the send was withdrawn before it went out'));
          this.emit();
          return true;
        };
        if (ticket) ticket.withdraw = withdraw;
        if (signal) {
          // One listener per waiting send: a signal shared by many sends is the intended use.
          if (!widened.has(signal)) {
            setMaxListeners(0, signal);
            widened.add(signal);
          }
          signal.addEventListener('abort', withdraw, { once: true });
        }
        job.release = () => {
          signal?.removeEventListener('abort', withdraw);
          if (ticket) ticket.withdraw = undefined;
        };
      }
      queue.push(job);
      this.size += 1;
      this.pump();
    });
  }

  /** Sends left in the current windows (as far as this scheduler knows). */
  remaining(): { hourly: number; daily: number } {
    const used = currentUsage(this.usage, this.scheduler.now());
    return {
      hourly: Math.max(0, this.limits.hourly - used.hourly),
      daily: Math.max(0, this.limits.daily - used.daily),
    };
  }

  /** Sends waiting. */
  queued(): number {
    return this.size;
  }

  /** Stops: waiting sends are rejected with `StoppedError` (nothing more is sent). */
  stop(): void {
    this.stopped = true;
    this.timer?.unsubscribe();
    for (const q of this.queues.values())
      for (const job of q.drain()) {
        job.release?.();
        if (!job.withdrawn) job.reject(new StoppedError('the send scheduler stopped'));
      }
    this.queues.clear();
    this.size = 0;
    this.emit();
    this.changes.complete();
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.scheduler.now();
    if (!this.loaded || now - this.lastRefresh >= this.refreshMs) {
      this.refresh(now);
      return;
    }
    while (this.size > 0) {
      const wait = this.waitMs(now);
      if (wait > 0) {
        this.noteQuotaWait(now);
        this.wake(now + wait);
        break;
      }
      this.dispatch(this.take(), now);
    }
    if (this.size === 0) this.waitingUntil = 0;
    this.emit();
  }

  /** Says once, in words, what the queue waits for when the quota (not the stagger) holds it. */
  private noteQuotaWait(now: number): void {
    const until = Math.max(this.pausedUntil, now + quotaWaitMs(this.usage, this.limits, now));
    if (!this.limitsRead || until <= now) {
      this.waitingUntil = 0;
      return;
    }
    if (until === this.waitingUntil) return;
    this.waitingUntil = until;
    const what = this.pausedUntil >= until ? 'the 429 pause ends' : 'the next quota window opens';
    this.logger?.info(
      { queued: this.size, waitingUntil: new Date(until).toISOString(), waitMs: until - now },
      `${this.size} ${this.size === 1 ? 'send waits' : 'sends wait'}: ${what} ${whenInWords(until, now)}`,
    );
  }

  /** Milliseconds until one more send may go out (0: now). */
  private waitMs(now: number): number {
    return Math.max(this.pausedUntil, now + quotaWaitMs(this.usage, this.limits, now), this.nextSlot) - now;
  }

  private dispatch(job: Job, now: number): void {
    job.out = true;
    countSend(this.usage, now);
    this.inFlight += 1;
    const s = this.stagger;
    if (s && 'spacingMs' in s) this.nextSlot = now + s.spacingMs;
    else if (s && ++this.burstCount >= s.burst) {
      this.burstCount = 0;
      this.nextSlot = now + s.pauseMs;
    }
    this.mailbox.send(job.request).then(
      (result) => {
        this.inFlight -= 1;
        this.sent += 1;
        job.release?.();
        job.resolve(result);
        this.emit();
      },
      (err: unknown) => {
        this.inFlight -= 1;
        if (err instanceof RateLimitedError) {
          // The server did not count it: give the token back, put the job first, pause, re-read limits.
          const at = this.scheduler.now();
          countSend(this.usage, at, -1);
          this.pausedUntil = Math.max(this.pausedUntil, at + err.retryAfterMs);
          this.lastRefresh = Number.NEGATIVE_INFINITY;
          job.out = false;
          this.requeue(job);
          this.logger?.warn({ retryAfterMs: err.retryAfterMs }, 'rate limited: pausing the account');
          this.wake(this.pausedUntil);
          this.emit();
          return;
        }
        job.release?.();
        job.reject(err);
        this.emit();
      },
    );
  }

  /** Reads limits and usage from `account()`, then goes on. */
  private refresh(now: number): void {
    if (this.loading) return;
    this.loading = true;
    this.lastRefresh = now;
    const load = this.mailbox.account().then(
      (account) => {
        const at = this.scheduler.now();
        const { hourly, daily } = account.rate_limits;
        this.limits = { hourly: hourly.limit, daily: daily.limit };
        this.limitsRead = true;
        // Sends in flight may not be counted by the server yet: keep the larger count.
        const mine = currentUsage(this.usage, at);
        this.usage = usageAt(at, Math.max(hourly.used, mine.hourly), Math.max(daily.used, mine.daily));
      },
      (err: unknown) => {
        this.logger?.warn({ err }, 'could not read the account limits; trying again');
        this.lastRefresh = this.scheduler.now() - this.refreshMs + Math.min(this.refreshMs, 1000);
      },
    );
    this.loaded ??= load;
    void load.then(() => {
      this.loading = false;
      this.pump();
    });
  }

  private take(): Job {
    for (const p of this.priorities) {
      const q = this.queues.get(p);
      for (let job = q?.shift(); job; job = q?.shift()) {
        if (job.withdrawn) continue; // already taken off the count
        this.size -= 1;
        return job;
      }
    }
    throw new Error('unreachable: take() on an empty queue');
  }

  private requeue(job: Job): void {
    let q = this.queues.get(job.priority);
    if (!q) {
      q = new Fifo();
      this.queues.set(job.priority, q);
      this.priorities = [...this.queues.keys()].sort((a, b) => b - a);
    }
    q.unshift(job);
    this.size += 1;
  }

  /** Runs `pump` at `at` (keeps only the earliest wake-up). */
  private wake(at: number): void {
    if (at >= this.timerAt && this.timer && !this.timer.closed) return;
    this.timer?.unsubscribe();
    this.timerAt = at;
    this.timer = this.scheduler.schedule(
      () => {
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - this.scheduler.now()),
    );
  }

  private snapshot(): SendSchedulerState {
    const now = this.scheduler.now();
    return {
      remaining: this.remaining(),
      limits: { ...this.limits },
      queued: this.size,
      inFlight: this.inFlight,
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : null,
      waitingUntil: this.size > 0 && this.waitingUntil > now ? this.waitingUntil : null,
      sent: this.sent,
    };
  }

  private emit(): void {
    if (this.changes.observed) this.changes.next();
  }
}
