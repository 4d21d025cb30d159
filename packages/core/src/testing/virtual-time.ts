import { TestScheduler } from 'rxjs/testing';

/** Lets every queued promise callback and immediate run (no timers: virtual time does not move). */
export async function drain(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Virtual time for code that mixes RxJS scheduling with promises (tests, simulations, examples
 * that show hours of quota in a second): `advance(ms)` runs every action
 * due up to that time, letting promise callbacks settle between actions.
 */
export class VirtualTime {
  readonly scheduler = new TestScheduler((actual, expected) => {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error('marble mismatch');
  });

  /** @param start virtual epoch in ms. @default 0 */
  constructor(start = 0) {
    this.scheduler.frame = start;
  }

  now(): number {
    return this.scheduler.now();
  }

  /** Number of actions waiting in virtual time. */
  get pending(): number {
    return this.scheduler.actions.length;
  }

  /** Runs what is due now, letting promises settle. */
  async settle(): Promise<void> {
    await this.advance(0);
  }

  /**
   * Runs virtual time forward, action by action, until `work` settles; resolves or rejects as it
   * does. Rejects when nothing is left to run and `work` still waits (it never would settle), or
   * after `maxMs` of virtual time.
   * @param options.maxMs @default 86400000 (a day)
   */
  async until<T>(work: Promise<T>, options: { maxMs?: number } = {}): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    // Nothing is lost here: `until` returns `work` itself, whose rejection reaches the caller; this
    // copy's rejection (the same error) is only kept from being reported as unhandled.
    watched.catch(() => undefined); // not swallowed: see above
    const limit = this.scheduler.frame + (options.maxMs ?? 86_400_000);
    await drain();
    while (!settled) {
      const next = this.scheduler.actions[0];
      if (!next || next.delay > limit) {
        throw new Error(
          next
            ? `still waiting after ${options.maxMs ?? 86_400_000} ms of virtual time`
            : 'waiting with nothing left to run',
        );
      }
      await this.advance(next.delay - this.scheduler.frame);
    }
    return watched;
  }

  /** Moves virtual time forward by `ms`, running everything due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.scheduler.frame + ms;
    for (;;) {
      await drain();
      const next = this.scheduler.actions[0];
      if (!next || next.delay > target) break;
      this.scheduler.maxFrames = next.delay;
      this.scheduler.flush();
    }
    this.scheduler.frame = target;
    this.scheduler.maxFrames = Number.POSITIVE_INFINITY;
    await drain();
  }
}
