import { asapScheduler, type SchedulerLike } from 'rxjs';
import { immediateScheduler, SharedTimer } from '../time/scheduling.js';
import type { InboxStreamOptions } from './inbox-options.js';

/** The settings an inbox stream reads from its options (both streams: listing and claiming). */
export function streamSettings(options: InboxStreamOptions, defaultLimit: number) {
  const minBackoff = options.minBackoffMs ?? 50;
  const retryMin = options.retryMinMs ?? 100;
  const scheduler = options.scheduler ?? immediateScheduler;
  return {
    limit: Math.min(100, Math.max(1, options.limit ?? defaultLimit)),
    minBackoff,
    maxBackoff: Math.max(minBackoff, options.maxBackoffMs ?? 5000),
    heartbeat: options.heartbeatMs ?? 30_000,
    retryMin,
    retryMax: Math.max(retryMin, options.retryMaxMs ?? 30_000),
    jitter: Math.min(1, Math.max(0, options.jitter ?? 0.2)),
    maxInFlight: options.maxInFlight ?? 1000,
    longPollSeconds: options.longPollSeconds ?? 20,
    /** No poll follows an empty page sooner than this. */
    minPollInterval: Math.max(0, options.minPollIntervalMs ?? 50),
    scheduler,
    wakeScheduler: options.wakeScheduler ?? (scheduler === immediateScheduler ? asapScheduler : scheduler),
    random: options.random ?? Math.random,
  };
}
export type StreamSettings = ReturnType<typeof streamSettings>;

/**
 * When a stream polls next: one poll scheduled at a time, either at once (on a scheduler of the
 * caller's choice) or after a delay on the shared timer; and the retry delays after failures.
 */
export class PollLoop {
  /** A poll is already scheduled to run at once. */
  private soon = false;
  private cancelNext: (() => void) | undefined;
  private retry = 0;
  readonly timer: SharedTimer;

  constructor(
    private readonly settings: StreamSettings,
    private readonly poll: () => void,
    timer: SharedTimer | undefined,
  ) {
    this.timer = timer ?? new SharedTimer(settings.scheduler);
  }

  /** Schedules the next poll (`delayMs <= 0`: at once on `on`); a poll already due at once wins. */
  next(delayMs: number, on: SchedulerLike = this.settings.scheduler): void {
    if (this.soon) return;
    this.cancelNext?.();
    if (delayMs <= 0) {
      this.soon = true;
      const sub = on.schedule(this.poll, 0);
      this.cancelNext = () => sub.unsubscribe();
    } else {
      this.cancelNext = this.timer.after(delayMs, this.poll);
    }
  }

  /** A poll is scheduled to run at once (`next` does nothing until it ran). */
  get due(): boolean {
    return this.soon;
  }

  /** Called by the poll as it starts: nothing is scheduled any more. */
  started(): void {
    this.cancelNext = undefined;
    this.soon = false;
  }

  /** The delay before retrying after a failure: doubled each time (from `retryMin`), jittered. */
  failed(): number {
    const s = this.settings;
    this.retry = this.retry === 0 ? s.retryMin : Math.min(s.retryMax, this.retry * 2);
    return Math.round(this.retry * (1 - s.jitter + 2 * s.jitter * s.random()));
  }

  /** A poll answered: the next failure starts from `retryMin` again. */
  succeeded(): void {
    this.retry = 0;
  }

  cancel(): void {
    this.cancelNext?.();
  }
}
