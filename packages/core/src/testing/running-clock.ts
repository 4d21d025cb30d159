import type { Clock } from '../time/clock.js';

/**
 * A clock that runs at the speed of real time from a fixed start, by default the top of an hour:
 * a test that sends against hourly quotas on it stays inside one quota window for an hour, however
 * close the wall clock is to the next hour. Timestamps still move forward between calls.
 */
export class RunningClock implements Clock {
  private readonly start: number;
  private readonly startedAt = performance.now();
  /** @param start the time it shows first, in ms since the epoch. @default 2026-01-01T09:00:00Z */
  constructor(start = Date.UTC(2026, 0, 1, 9, 0, 0)) {
    this.start = start;
  }
  now(): number {
    return this.start + Math.floor(performance.now() - this.startedAt);
  }
}
